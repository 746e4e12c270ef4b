"""Load the notice texts shipped as data (cis_notifications/data/notice_languages): one file per language
plus languages.json (the statutory list and the "get it in your language" lines). A file missing a text or
a placeholder the English source has stops the service at start-up, naming the file and the text."""
import json
from functools import lru_cache
from pathlib import Path
from string import Template

from cis_notifications.domain.languages import NoticeLanguage, NoticeLanguages
from cis_runtime.errors import InvalidInput

FOLDER = Path(__file__).resolve().parent.parent / "data" / "notice_languages"


@lru_cache(maxsize=1)
def notice_languages(folder: str = str(FOLDER)) -> NoticeLanguages:
    index = json.loads((Path(folder) / "languages.json").read_text(encoding="utf-8"))
    languages = {}
    for path in sorted(Path(folder).glob("*.json")):
        if path.name != "languages.json":
            language = _language(json.loads(path.read_text(encoding="utf-8")))
            languages[language.code] = language
    for language in languages.values():
        _check_like_the_source(language, languages[index["fallback"]])
    return NoticeLanguages(languages, {code: entry["line"] for code, entry in index["get_it_in_your_language"].items()},
                           index["fallback"])


def _language(document: dict) -> NoticeLanguage:
    notice, past_due = document["collection_notice"], document["past_due_notice"]
    return NoticeLanguage(
        code=document["language"], name=document["name"], review_status=document["review"]["status"],
        collection_subjects=notice["subjects"], collection_leads=notice["leads"], collection_body=notice["body"],
        tenant_rights=notice["tenant_rights"], shutoff_date_unknown=notice["shutoff_date_unknown"],
        past_due_subject=past_due["subject"], past_due_body=past_due["body"], policy_texts=document["policy_texts"])


def _check_like_the_source(language: NoticeLanguage, source: NoticeLanguage) -> None:
    """Every text the source has, with the same placeholders (a translation that drops $shutoff_on would
    print a notice without its date)."""
    problems = {}
    for name in ("collection_subjects", "collection_leads"):
        ours, theirs = getattr(language, name), getattr(source, name)
        for kind in theirs:
            if kind not in ours or _fields(ours[kind]) != _fields(theirs[kind]):
                problems[f"{language.code}.json {name}.{kind}"] = ["missing, or its $placeholders differ from English"]
    for name in ("collection_body", "tenant_rights", "past_due_subject", "past_due_body"):
        if _fields(getattr(language, name)) != _fields(getattr(source, name)):
            problems[f"{language.code}.json {name}"] = ["its $placeholders differ from English"]
    if problems:
        raise InvalidInput(problems)


def _fields(text: str) -> set[str]:
    return {match.group("named") or match.group("braced") for match in Template.pattern.finditer(text)
            if match.group("named") or match.group("braced")}
