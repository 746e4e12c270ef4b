"""Issue 9, case 6 for the past-due reminder (collections.notice_requested.v1): it reaches the customer by the
bill's delivery rule - printed for the mail house unless the customer chose paperless with a working address -
and is delivered once per notice, on real RabbitMQ, PostgreSQL, a real SMTP server and a mail-house drop
directory (the fixtures of test_notifications_service). The reminder is no statutory notice and collections
counts nothing from it, so no notice_dispatched is reported for it."""
import time

from cis_contracts.registry import get
from cis_notifications.adapters.notice_texts import notice_languages
from cis_notifications.domain import messages
from cis_runtime.testing import wait_for
from test_bill_delivery import POSTAL, deliveries_v2, manifest_rows
from test_notifications_service import (ACCOUNT_CLOSED, NOTICE_REQUESTED, chose_paperless,  # noqa: F401 (fixtures)
                                        known_contact, mail_drop, mail_relay, notifications, query)

NOTICE = get(NOTICE_REQUESTED).examples()[0]  # N0000001: $87.40 past due on A0000004, oldest due 2026-03-21


def reminder(**changes) -> dict:
    return {**NOTICE, **changes}


def reminders_sent(notifications, account_id="A0000004") -> list[dict]:
    return [d for d in deliveries_v2(notifications, account_id) if d["kind"] == "past_due_notice" and
            d["status"] == "sent"]


def wait_for_reminders(notifications, account_id="A0000004") -> list[dict]:
    return wait_for(lambda: reminders_sent(notifications, account_id), message="the past-due reminder delivered")


def notices_dispatched() -> list:
    return query("select 1 from outbox where message_name = 'notifications.notice_dispatched.v1'")


def test_a_customer_without_email_gets_the_past_due_reminder_printed_for_the_mail_house(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004", email=None, name="Eli Navarro")
    publish(NOTICE_REQUESTED, reminder())

    [delivery] = wait_for_reminders(notifications)
    assert (delivery["channel"], delivery["status"], delivery["business_date"], delivery["reference"],
            delivery["recipient"], delivery["subject"]) == (
        "mail", "sent", "2026-05-26", "N0000001", f"Eli Navarro, {POSTAL}",
        "Past-due notice: $87.40 past due on account A0000004")
    [row] = manifest_rows(mail_drop)
    assert (row["document"], row["notice_id"], row["kind"], row["channel"], row["addressee"], row["address"]) == (
        "2026-05-26/N0000001-past_due_notice.html", "N0000001", "past_due_notice", "mail", "Eli Navarro", POSTAL)
    letter = (mail_drop / row["document"]).read_text()
    for item in ("<!DOCTYPE html>", "Eli Navarro", POSTAL, "$87.40 past due on account A0000004",
                 "due on 2026-03-21", "notice N0000001"):
        assert item in letter, item
    assert mail_relay.messages == [] and notices_dispatched() == []


def test_a_paperless_customer_with_a_working_address_gets_the_past_due_reminder_by_email_and_no_paper(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004")
    chose_paperless(publish, account_id="A0000004", email="ana.paperless@example.org")
    publish(NOTICE_REQUESTED, reminder())

    [delivery] = wait_for_reminders(notifications)
    assert (delivery["channel"], delivery["recipient"], delivery["reference"]) == (
        "email", "ana.paperless@example.org", "N0000001")
    [email] = mail_relay.messages
    assert email["To"] == "ana.paperless@example.org"
    assert email["Subject"] == "Past-due notice: $87.40 past due on account A0000004"
    assert manifest_rows(mail_drop) == [] and notices_dispatched() == []


def test_a_past_due_reminder_to_an_address_the_relay_refuses_for_good_is_mailed_instead(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004")
    chose_paperless(publish, account_id="A0000004", email="gone@example.org")
    mail_relay.unknown_mailboxes.add("gone@example.org")
    publish(NOTICE_REQUESTED, reminder())

    [delivery] = wait_for_reminders(notifications)
    assert (delivery["channel"], delivery["recipient"]) == ("mail", f"Ana Reyes, {POSTAL}")
    assert sorted((d["channel"], d["status"]) for d in deliveries_v2(notifications, "A0000004")) == [
        ("email", "failed"), ("mail", "sent")]
    assert [r["notice_id"] for r in manifest_rows(mail_drop)] == ["N0000001"]
    assert query("select email_refused_on from bill_delivery_choices where account_id = 'A0000004'") != [(None,)]


def test_a_closed_accounts_past_due_reminder_is_mailed_to_the_forwarding_address(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000001", email=None)
    publish(ACCOUNT_CLOSED, get(ACCOUNT_CLOSED).examples()[0], producer_name="accounts")  # A0000001, to Fresno
    wait_for(lambda: query("select 1 from account_closings"), message="closing recorded")
    publish(NOTICE_REQUESTED, reminder(account_id="A0000001"))

    [delivery] = wait_for_reminders(notifications, "A0000001")
    assert (delivery["channel"], delivery["recipient"]) == ("mail", "Ana Reyes, 400 Pine Ave, Fresno, CA 93701")
    [row] = manifest_rows(mail_drop)
    assert row["address"] == "400 Pine Ave, Fresno, CA 93701"
    assert "400 Pine Ave" in (mail_drop / row["document"]).read_text()


def test_a_past_due_reminder_delivered_twice_gives_one_document_and_one_delivery(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004", email=None)
    envelope = publish(NOTICE_REQUESTED, reminder())
    wait_for_reminders(notifications)
    publish(NOTICE_REQUESTED, envelope=envelope)  # the broker delivering it again
    publish(NOTICE_REQUESTED, reminder())         # collections publishing the same notice again, in a new message
    publish(NOTICE_REQUESTED, reminder(notice_id="N0000002"))
    wait_for(lambda: len(reminders_sent(notifications)) == 2, message="the next reminder")
    time.sleep(0.5)
    assert [d["reference"] for d in reminders_sent(notifications)] == ["N0000001", "N0000002"]
    assert [r["notice_id"] for r in manifest_rows(mail_drop)] == ["N0000001", "N0000002"]
    assert len(list(mail_drop.glob("*/N0000001-*"))) == 1


def test_hsc_116906a_a_spanish_speaking_customer_s_printed_reminder_is_in_spanish():
    reader = messages.Contact("A0000004", "Eli Navarro", None, "es-MX")
    letter = messages.printed_past_due_notice(reader, NOTICE, notice_languages(), "Eli Navarro", POSTAL)
    assert '<html lang="es">' in letter
    assert "Aviso de pago vencido: $87.40 vencidos en la cuenta A0000004" in letter
    assert "La factura impaga más antigua vencía el 2026-03-21." in letter
    assert "Eli Navarro" in letter and POSTAL in letter


