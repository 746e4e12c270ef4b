"""Notice texts by language (H&S 116906(a); Civ. Code 1632): which template a reader gets, and the line
that tells a reader without one how to get the notice in their language. Plain data, no I/O; the
texts are loaded from cis_notifications/data/notice_languages by adapters/notice_texts.py."""
from dataclasses import dataclass
from string import Template

DRAFT = "draft_needs_district_review"


@dataclass(frozen=True)
class NoticeLanguage:
    code: str
    name: str
    review_status: str  # source_text | district_certified | draft_needs_district_review
    collection_subjects: dict[str, str]
    collection_leads: dict[str, str]
    collection_body: str
    tenant_rights: str
    shutoff_date_unknown: str
    past_due_subject: str
    past_due_body: str
    policy_texts: dict[str, str]  # the District's English policy text -> its translation

    def policy_text(self, english: str) -> tuple[str, bool]:
        """The configured policy text in this language, and whether it was; a text the translation does not
        know (the Board changed it since) stays in English rather than print a stale translation."""
        if self.code == "en" or english in self.policy_texts:
            return self.policy_texts.get(english, english), True
        return english, False


@dataclass(frozen=True)
class NoticeLanguages:
    languages: dict[str, NoticeLanguage]
    get_it_lines: dict[str, str]  # language -> "To get this notice in <language>, call $phone."
    fallback: str = "en"

    def for_reader(self, preferred_language: str | None) -> tuple[NoticeLanguage, bool]:
        """The reader's template and True, or the fallback (English) and False when there is none."""
        code = language_code(preferred_language)
        if code in self.languages:
            return self.languages[code], True
        return self.languages[self.fallback], False

    def multilingual_line(self, phone: str) -> str:
        """In every language of H&S 116906(a) and the District's 10 percent languages: how to get the notice."""
        return "\n".join(Template(line).substitute(phone=phone) for line in self.get_it_lines.values())


def language_code(preferred_language: str | None) -> str:
    """"es-MX" and "ES" -> "es"; "zh-Hant" -> "zh"; nothing -> ""."""
    return (preferred_language or "").strip().replace("_", "-").split("-")[0].lower()
