"""Issue 9, case 6: every bill reaches the customer - printed for the mail house unless the customer chose
paperless with a working address - and is reported delivered once (notifications.bill_delivered.v1), on real
RabbitMQ, PostgreSQL, a real SMTP server and a mail-house drop directory (the fixtures of
test_notifications_service)."""
import csv
import time

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get
from cis_notifications.adapters.mail_house import FileDropMailHouse
from cis_notifications.service_layer import bills, services
from cis_runtime.testing import dead_letters, wait_for
from test_notifications_service import (ACCOUNT_CLOSED, BILL_DELIVERY_CHANGED, BILL_ISSUED,  # noqa: F401 (fixtures)
                                        COLLECTION_NOTICE_REQUESTED, bill_issued, chose_paperless, known_contact,
                                        mail_drop, mail_relay, notifications, query)

POSTAL = "PO Box 112, Ojai, CA 93024"  # the mailing address of the account_opened example


def delivered() -> list[dict]:
    rows = query("select envelope from outbox where message_name = 'notifications.bill_delivered.v1' order by id")
    return [open_envelope(envelope)[1] for (envelope,) in rows]


def manifest_rows(mail_drop) -> list[dict]:
    rows = []
    for manifest in sorted(mail_drop.glob("*/manifest.csv")):
        with manifest.open(newline="") as lines:
            rows += list(csv.DictReader(lines))
    return rows


def deliveries_v2(notifications, account_id="A0000001") -> list[dict]:
    return notifications.list_deliveries_v2(account_id)["deliveries"]


def test_a_customer_without_email_gets_the_bill_printed_for_the_mail_house_and_reported_delivered_by_mail(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, email=None)
    publish(BILL_ISSUED, bill_issued())

    [event] = wait_for(delivered, message="bill_delivered")
    assert (event["delivery_id"], event["bill_id"], event["channel"], event["delivered_on"].isoformat(),
            event["addressee"], event["address"]) == (
        "B0000002-bill", "B0000002", "mail", "2026-05-26", "Ana Reyes", POSTAL)
    [row] = manifest_rows(mail_drop)
    assert (row["document"], row["kind"], row["channel"], row["addressee"], row["address"]) == (
        event["document"], "bill", "mail", "Ana Reyes", POSTAL)
    printed = (mail_drop / event["document"]).read_text()
    for item in ("Your water bill B0000002", "Ana Reyes", POSTAL, "$43.80", "$64.55", "2026-04-23",
                 "2026-03-01 to 2026-03-31"):
        assert item in printed, item
    [delivery] = deliveries_v2(notifications)
    assert (delivery["kind"], delivery["channel"], delivery["status"], delivery["business_date"],
            delivery["reference"], delivery["recipient"]) == (
        "bill_notice", "mail", "sent", "2026-05-26", "B0000002", f"Ana Reyes, {POSTAL}")
    assert mail_relay.messages == []


def test_a_paperless_customer_with_a_working_address_gets_the_e_bill_and_no_paper(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish)
    chose_paperless(publish)
    publish(BILL_ISSUED, bill_issued())

    [event] = wait_for(delivered, message="bill_delivered")
    assert (event["channel"], event["delivered_on"].isoformat(), event["address"], event["document"]) == (
        "email", "2026-05-26", "ana.reyes@example.org", None)
    [email] = mail_relay.messages
    assert email["To"] == "ana.reyes@example.org" and email["Subject"].startswith("Your water bill B0000002")
    assert manifest_rows(mail_drop) == []
    [delivery] = deliveries_v2(notifications)
    assert (delivery["channel"], delivery["recipient"], delivery["reference"]) == (
        "email", "ana.reyes@example.org", "B0000002")


def test_an_address_the_relay_refuses_for_good_gets_the_bill_mailed_and_later_ones_until_a_new_choice(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish)
    chose_paperless(publish, email="gone@example.org")
    mail_relay.unknown_mailboxes.add("gone@example.org")
    publish(BILL_ISSUED, bill_issued("B0000002"))

    [first] = wait_for(delivered, message="the refused e-bill mailed instead")
    assert (first["channel"], first["address"]) == ("mail", POSTAL)
    assert sorted((d["channel"], d["status"]) for d in deliveries_v2(notifications)) == [
        ("email", "failed"), ("mail", "sent")]
    [refused] = [d for d in deliveries_v2(notifications) if d["channel"] == "email"]
    assert refused["recipient"] == "gone@example.org"

    mail_relay.unknown_mailboxes.clear()  # the relay would take it now, but the address is marked not working
    publish(BILL_ISSUED, bill_issued("B0000003"))
    wait_for(lambda: len(delivered()) == 2, message="the next bill")
    assert delivered()[1]["channel"] == "mail" and mail_relay.messages == []

    chose_paperless(publish, email="ana.new@example.org", revision=2)  # the customer chose again
    publish(BILL_ISSUED, bill_issued("B0000004"))
    wait_for(lambda: len(delivered()) == 3, message="the bill after the new choice")
    assert (delivered()[2]["channel"], delivered()[2]["address"]) == ("email", "ana.new@example.org")
    assert [r["notice_id"] for r in manifest_rows(mail_drop)] == ["B0000002", "B0000003"]


def test_an_older_choice_arriving_late_is_ignored(notifications, mail_relay, mail_drop, publish):
    known_contact(publish)
    chose_paperless(publish, paperless=False, revision=2)
    publish(BILL_DELIVERY_CHANGED, {"account_id": "A0000001", "paperless": True, "email": "ana.reyes@example.org",
                                    "changed_on": "2026-04-01", "revision": 1}, producer_name="accounts")
    wait_for(lambda: len(query("select 1 from inbox where consumer = 'notifications.on_bill_delivery_changed'")) == 2,
             message="the late choice handled")
    assert query("select paperless, revision from bill_delivery_choices") == [(False, 2)]
    publish(BILL_ISSUED, bill_issued())
    [event] = wait_for(delivered, message="bill_delivered")
    assert event["channel"] == "mail"


def test_a_bill_issued_delivered_twice_gives_one_document_and_one_event(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, email=None)
    envelope = publish(BILL_ISSUED, bill_issued())
    wait_for(delivered, message="first delivery")
    publish(BILL_ISSUED, envelope=envelope)  # the broker delivering it again
    publish(BILL_ISSUED, bill_issued())      # billing publishing the same bill again, in a new message
    publish(BILL_ISSUED, bill_issued("B0000003"))
    wait_for(lambda: len(delivered()) == 2, message="the next bill")
    time.sleep(0.5)
    assert [e["bill_id"] for e in delivered()] == ["B0000002", "B0000003"]
    assert [r["notice_id"] for r in manifest_rows(mail_drop)] == ["B0000002", "B0000003"]
    assert len(list(mail_drop.glob("*/B0000002-*"))) == 1


class NoRelay:
    def send(self, recipient, subject, body):
        raise AssertionError("a bill on paper sends no email")


def test_a_bill_printed_but_not_committed_is_printed_again_into_the_same_document(service_db, tmp_path):
    """The drop happened, then the transaction was lost (a crash before commit): the redelivery prints the
    bill again, over the same file, and the mail house's manifest still holds one letter."""
    uow_factory = service_db("notifications")
    mail_house = FileDropMailHouse(tmp_path / "drop")
    with uow_factory() as uow:
        services.record_contact(uow, {**get("accounts.account_opened.v1").examples()[0], "email": None})
        uow.commit()
    for commit in (False, True):
        with uow_factory() as uow:
            assert uow.first_delivery("5f7c3a52-0f5e-4a8e-9d1b-3c1f0e2a9b10", "notifications.on_bill_issued",
                                      BILL_ISSUED)
            bills.deliver_bill(uow, NoRelay(), mail_house, "5f7c3a52-0f5e-4a8e-9d1b-3c1f0e2a9b10", bill_issued())
            if commit:
                uow.commit()
    assert len(manifest_rows(tmp_path / "drop")) == 1
    assert len(list((tmp_path / "drop").glob("*/*.html"))) == 1
    assert len(delivered()) == 1


def test_a_bill_the_mail_house_drop_cannot_take_is_retried_dead_lettered_and_never_reported_delivered(
        notifications, mail_relay, tmp_path, monkeypatch, publish):
    known_contact(publish, email=None)
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv("CIS_MAIL_DROP_DIR", str(tmp_path / "not-a-directory" / "drop"))
    envelope = publish(BILL_ISSUED, bill_issued())

    [(headers, body)] = wait_for(lambda: dead_letters("notifications.on_bill_issued"), message="dead letter")
    assert body["message_id"] == envelope["message_id"] and headers["x-cis-attempt"] == 3
    assert "mail house drop" in headers["x-cis-error"]
    assert delivered() == []
    [delivery] = deliveries_v2(notifications)
    assert (delivery["channel"], delivery["status"]) == ("mail", "failed")


def test_a_closed_accounts_closing_bill_is_mailed_to_the_forwarding_address(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, email=None)
    publish(ACCOUNT_CLOSED, get(ACCOUNT_CLOSED).examples()[0], producer_name="accounts")
    wait_for(lambda: query("select 1 from account_closings"), message="closing recorded")
    publish(BILL_ISSUED, bill_issued())
    [event] = wait_for(delivered, message="closing bill delivered")
    assert (event["channel"], event["address"]) == ("mail", "400 Pine Ave, Fresno, CA 93701")
    assert "400 Pine Ave" in (mail_drop / event["document"]).read_text()


def test_deliveries_v2_show_a_mailed_notices_business_date_addressee_and_notice(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004")
    publish(COLLECTION_NOTICE_REQUESTED, get(COLLECTION_NOTICE_REQUESTED).examples()[0])
    wait_for(lambda: len(deliveries_v2(notifications, "A0000004")) == 2, message="mailed and emailed")
    by_channel = {d["channel"]: d for d in deliveries_v2(notifications, "A0000004")}
    assert (by_channel["mail"]["recipient"], by_channel["mail"]["reference"], by_channel["mail"]["business_date"]) == (
        "Ana Flores, PO Box 9, Springville, CA 95000", "N0000007", "2026-05-26")
    assert (by_channel["email"]["recipient"], by_channel["email"]["reference"]) == ("ana.reyes@example.org", "N0000007")
    assert notifications.list_deliveries_v2("A9999999") == {"account_id": "A9999999", "deliveries": []}


def test_the_mail_house_lists_a_document_once_however_often_and_by_whichever_writer_it_is_dropped(tmp_path):
    from datetime import date

    from cis_notifications.adapters import mail_house
    from cis_notifications.adapters.mail_house import PrintedDocument

    def bill(bill_id):
        return PrintedDocument(bill_id, "A0000001", "bill", "mail", "Ana Reyes", "PO Box 112, Ojai, CA 93024",
                               "<html></html>")

    day = date(2026, 5, 26)
    FileDropMailHouse(tmp_path).drop(bill("B0000001"), day)
    FileDropMailHouse(tmp_path).drop(bill("B0000002"), day)
    mail_house._MANIFESTS.clear()  # as another process would: it has read nothing of this manifest
    FileDropMailHouse(tmp_path).drop(bill("B0000001"), day)
    FileDropMailHouse(tmp_path).drop(bill("B0000003"), day)
    FileDropMailHouse(tmp_path).drop(bill("B0000002"), day)
    assert [row["notice_id"] for row in manifest_rows(tmp_path)] == ["B0000001", "B0000002", "B0000003"]
