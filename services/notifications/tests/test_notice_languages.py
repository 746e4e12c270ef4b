"""Notices in the customer's language (H&S 116906(a); Civ. Code 1632): the template of the customer's
preferred_language, else English with a line in every statutory language saying how to get the notice."""
import json
import shutil

import pytest

from cis_contracts.registry import get
from cis_notifications.adapters.notice_texts import FOLDER, notice_languages
from cis_notifications.domain.languages import DRAFT, language_code
from cis_notifications.domain.messages import Contact, collection_notice, past_due_notice
from cis_runtime.errors import InvalidInput
from cis_runtime.testing import wait_for
from test_notifications_service import (COLLECTION_NOTICE_REQUESTED, dispatched, known_contact,  # noqa: F401
                                        mail_drop, mail_relay, notifications)

NOTICE = get(COLLECTION_NOTICE_REQUESTED).examples()[0]  # a shutoff notice, District default policy texts
STATUTORY = {"en", "es", "zh", "tl", "vi", "ko"}  # English and the languages of Civ. Code 1632
SPANISH_LINE = f"Para recibir este aviso en español, llame al {NOTICE['phone']}."


def multilingual_lines() -> list[str]:
    index = json.loads((FOLDER / "languages.json").read_text(encoding="utf-8"))
    return [entry["line"].replace("$phone", NOTICE["phone"]) for entry in index["get_it_in_your_language"].values()]


def test_hsc_116906a_a_spanish_speaking_customer_s_shutoff_notice_is_mailed_and_emailed_in_spanish(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004", language="es-MX")
    publish(COLLECTION_NOTICE_REQUESTED, NOTICE)
    mailed, _ = wait_for(lambda: len(dispatched()) == 2 and dispatched(), message="mailed and emailed")

    [email] = mail_relay.messages
    assert email["Subject"] == ("Aviso de factura de agua vencida y corte del servicio programado para el "
                                f"{NOTICE['shutoff_on']}")
    text = email.get_content()
    pay_by = NOTICE["pay_or_arrange_by"]
    assert f"Para evitar el corte, pague o haga un arreglo de pago a más tardar el {pay_by}." in text
    assert "Llame o escriba al Distrito antes de la fecha indicada para pedir más tiempo para pagar." in text
    assert NOTICE["extension_process"] not in text  # the District's policy text, translated
    assert NOTICE["policy_url"] in text and NOTICE["phone"] in text and "$64.55" in text
    assert SPANISH_LINE not in text  # in the reader's own language: no "get it in your language" line
    letter = (mail_drop / mailed["document"]).read_text(encoding="utf-8")
    assert '<html lang="es">' in letter and "Más tiempo para pagar" in letter


def test_hsc_116906a_an_unknown_language_falls_back_to_english_with_the_multilingual_line(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004", language="hy")  # Armenian: no template
    publish(COLLECTION_NOTICE_REQUESTED, NOTICE)
    mailed, _ = wait_for(lambda: len(dispatched()) == 2 and dispatched(), message="mailed and emailed")

    [email] = mail_relay.messages
    assert email["Subject"].startswith("Notice of past-due water bill and scheduled shutoff")
    text = email.get_content()
    assert NOTICE["extension_process"] in text
    assert SPANISH_LINE in text and all(line in text for line in multilingual_lines())
    letter = (mail_drop / mailed["document"]).read_text(encoding="utf-8")
    assert '<html lang="en">' in letter and "如需本通知的中文版本" in letter


def test_hsc_116906a_the_occupant_copy_is_english_with_the_multilingual_line_whatever_the_customer_speaks():
    notice = {**NOTICE, "kind": "occupant_notice", "addressee": "Occupant"}
    email = collection_notice(Contact("A0000004", "Ana Flores", None, "es"), notice, notice_languages())
    assert email.language == "en" and email.subject.startswith("To the Occupant")
    assert all(line in email.body for line in multilingual_lines())


def test_hsc_116906a_a_policy_text_the_translation_does_not_know_stays_english_and_adds_the_line():
    notice = {**NOTICE, "extension_process": "Ask the Board clerk for an extension form."}
    email = collection_notice(Contact("A0000004", "Ana Flores", None, "es"), notice, notice_languages())
    assert email.language == "es" and "Ask the Board clerk for an extension form." in email.body
    assert SPANISH_LINE in email.body


def test_hsc_116906a_past_due_notices_use_the_customer_s_template_too():
    notice = {"amount_past_due": "64.55", "oldest_due_on": "2026-04-23"}
    spanish = past_due_notice(Contact("A1", "Ana Reyes", None, "ES"), notice, notice_languages())
    english = past_due_notice(Contact("A1", "Ana Reyes", None, "fr"), notice, notice_languages())
    assert spanish.subject == "Aviso de pago vencido: $64.55 vencidos en la cuenta A1"
    assert "La factura impaga más antigua vencía el 2026-04-23." in spanish.body
    assert english.subject == "Past-due notice: $64.55 past due on account A1" and english.language == "en"


def test_hsc_116906a_every_statutory_language_has_a_line_and_every_text_not_certified_is_marked_draft():
    index = json.loads((FOLDER / "languages.json").read_text(encoding="utf-8"))
    assert set(index["statutory_languages"]) == STATUTORY
    assert set(index["get_it_in_your_language"]) >= STATUTORY | set(index["district_additional_languages"])
    for code, entry in index["get_it_in_your_language"].items():
        assert entry["review"] in ("source_text", "district_certified", DRAFT), code
        assert "$phone" in entry["line"], code
    for code, language in notice_languages().languages.items():
        assert language.review_status in ("source_text", "district_certified", DRAFT), code
        assert (language.review_status == "source_text") == (code == "en")
    # what this project wrote is a draft until the District certifies it
    assert notice_languages().languages["es"].review_status == DRAFT


def test_hsc_116906a_a_translation_that_drops_a_placeholder_is_refused_naming_the_file_and_text(tmp_path):
    folder = tmp_path / "notice_languages"
    shutil.copytree(FOLDER, folder)
    spanish = json.loads((folder / "es.json").read_text(encoding="utf-8"))
    spanish["collection_notice"]["leads"]["shutoff_notice"] = "El servicio de agua podría cortarse pronto."
    (folder / "es.json").write_text(json.dumps(spanish, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        notice_languages.__wrapped__(str(folder))
    assert list(error.value.field_errors) == ["es.json collection_leads.shutoff_notice"]


def test_language_codes_are_read_by_their_primary_subtag():
    assert [language_code(c) for c in ("es-MX", "ES", "zh_Hant", " ko ", None)] == ["es", "es", "zh", "ko", ""]
