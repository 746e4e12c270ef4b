"""Notifications on real RabbitMQ, PostgreSQL and a real SMTP server (aiosmtpd) started by the test."""
import socket
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cis_contracts.registry import get
from cis_notifications.adapters.models import Base
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import dead_letters, wait_for

ACCOUNT_OPENED = "accounts.account_opened.v1"
BILL_ISSUED = "billing.bill_issued.v1"
NOTICE_REQUESTED = "collections.notice_requested.v1"
BILL_DELIVERY_CHANGED = "accounts.bill_delivery_changed.v1"
ACCOUNT_CLOSED = "accounts.account_closed.v2"


class MailRelay:
    """An SMTP handler that keeps what it accepts; it can refuse the next n messages (or all), and refuse
    some recipients for good (550 to RCPT TO: no such mailbox)."""

    def __init__(self):
        self.messages = []
        self.refuse_next = 0
        self.unknown_mailboxes = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_mailboxes:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Mail relay busy, try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_relay(monkeypatch):
    relay = MailRelay()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CIS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CIS_SMTP_PORT", str(port))
    yield relay
    controller.stop()


@pytest.fixture
def mail_drop(tmp_path, monkeypatch):
    """The mail house's drop directory for this test."""
    monkeypatch.setenv("CIS_MAIL_DROP_DIR", str(tmp_path / "mail-drop"))
    return tmp_path / "mail-drop"


@pytest.fixture
def notifications(mail_relay, mail_drop, running_services, rpc):
    running_services("notifications")
    rpc.notifications.set_business_date("2026-05-26")
    return rpc.notifications


def account_opened(account_id="A0000001", email="ana.reyes@example.org", name="Ana Reyes", language="en"):
    payload = dict(get(ACCOUNT_OPENED).examples()[0])
    payload.update(account_id=account_id, email=email, customer_name=name, preferred_language=language)
    return payload


def bill_issued(bill_id="B0000002", account_id="A0000001"):
    payload = dict(get(BILL_ISSUED).examples()[0])
    payload.update(bill_id=bill_id, account_id=account_id)
    return payload


def known_contact(publish, **opened):
    payload = account_opened(**opened)
    publish(ACCOUNT_OPENED, payload)
    wait_for(lambda: query("select 1 from contacts where account_id = :a", a=payload["account_id"]),
             message=f"contact {payload['account_id']}")
    return payload


def chose_paperless(publish, account_id="A0000001", email="ana.reyes@example.org", paperless=True, revision=1,
                    changed_on="2026-05-01"):
    """accounts.bill_delivery_changed.v1 for the account, waited for until notifications holds it."""
    publish(BILL_DELIVERY_CHANGED, {"account_id": account_id, "paperless": paperless, "email": email,
                                    "changed_on": changed_on, "revision": revision}, producer_name="accounts")
    wait_for(lambda: query("select 1 from bill_delivery_choices where account_id = :a and revision >= :r",
                           a=account_id, r=revision), message=f"bill delivery choice of {account_id}")


def query(sql: str, **params):
    with engine_for("notifications").connect() as db:
        return db.execute(sa.text(sql), params).all()


def deliveries(notifications, account_id="A0000001") -> list[dict]:
    return notifications.list_deliveries(account_id)["deliveries"]


def test_a_paperless_customers_bill_is_emailed_with_amount_due_date_period_and_lines(
        notifications, mail_relay, publish):
    known_contact(publish)
    chose_paperless(publish)
    publish(BILL_ISSUED, bill_issued())

    [email] = wait_for(lambda: mail_relay.messages, message="bill email")
    assert email["To"] == "ana.reyes@example.org"
    assert email["Subject"] == "Your water bill B0000002: $64.55 due 2026-04-23"
    body = email.get_content()
    assert "Dear Ana Reyes" in body
    assert "Service period: 2026-03-01 to 2026-03-31" in body
    assert "Water usage: $43.80" in body and "Monthly service charge" in body
    assert "Amount due: $64.55" in body and "Please pay by: 2026-04-23" in body
    [delivery] = deliveries(notifications)
    assert (delivery["kind"], delivery["status"], delivery["recipient"], delivery["subject"]) == (
        "bill_notice", "sent", "ana.reyes@example.org", email["Subject"])


def test_a_redelivered_bill_issued_sends_no_second_email(notifications, mail_relay, publish):
    known_contact(publish)
    chose_paperless(publish)
    envelope = publish(BILL_ISSUED, bill_issued())
    wait_for(lambda: mail_relay.messages, message="first email")
    publish(BILL_ISSUED, envelope=envelope)  # the relay or the broker delivering it again
    publish(BILL_ISSUED, bill_issued(bill_id="B0000003"))
    wait_for(lambda: len(mail_relay.messages) >= 2, message="the next bill's email")
    assert sorted(m["Subject"].split(":")[0] for m in mail_relay.messages) == [
        "Your water bill B0000002", "Your water bill B0000003"]
    assert len(deliveries(notifications)) == 2


def test_a_past_due_notice_names_the_amount_past_due_and_the_oldest_due_date(notifications, mail_relay, publish):
    known_contact(publish, account_id="A0000004")
    chose_paperless(publish, account_id="A0000004")  # emailed by the bill's rule (printed: test_past_due_delivery)
    notice = get(NOTICE_REQUESTED).examples()[0]
    publish(NOTICE_REQUESTED, notice)

    [email] = wait_for(lambda: mail_relay.messages, message="past-due email")
    assert email["Subject"] == "Past-due notice: $87.40 past due on account A0000004"
    assert "$87.40 past due" in email.get_content() and "due on 2026-03-21" in email.get_content()
    [delivery] = deliveries(notifications, "A0000004")
    assert (delivery["kind"], delivery["status"]) == ("past_due_notice", "sent")


def attempt_outcomes(delivery_kind="bill_notice") -> list[str]:
    return [outcome for (outcome,) in query(
        "select a.outcome from delivery_attempts a join deliveries d using (delivery_id) where d.kind = :k "
        "and d.channel = 'email' order by a.attempt_id", k=delivery_kind)]


def test_a_relay_refusal_is_retried_so_the_notice_is_not_lost(notifications, mail_relay, publish, monkeypatch):
    monkeypatch.setenv("CIS_EMAIL_RETRY_SECONDS", "0.2")  # read by the send relay on every pass
    known_contact(publish)
    chose_paperless(publish)
    mail_relay.refuse_next = 1
    publish(BILL_ISSUED, bill_issued())
    wait_for(lambda: mail_relay.messages, message="email accepted on retry")
    [delivery] = wait_for(lambda: [d for d in deliveries(notifications) if d["status"] == "sent"],
                          message="delivery marked sent")
    assert delivery["kind"] == "bill_notice"
    assert len(mail_relay.messages) == 1
    assert attempt_outcomes() == ["sending", "transient", "sending", "sent"]  # every attempt kept


def test_a_notice_the_relay_keeps_refusing_is_given_up_and_shown_as_failed_with_every_attempt(
        notifications, mail_relay, publish, monkeypatch):
    monkeypatch.setenv("CIS_EMAIL_RETRY_SECONDS", "0.1")
    monkeypatch.setenv("CIS_EMAIL_MAX_ATTEMPTS", "3")
    known_contact(publish)
    chose_paperless(publish)
    mail_relay.refuse_next = 1000
    publish(BILL_ISSUED, bill_issued())
    wait_for(lambda: [d for d in deliveries(notifications) if d["status"] == "failed"], timeout=30,
             message="given up")
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["recipient"]) == ("failed", "ana.reyes@example.org")
    assert attempt_outcomes() == ["sending", "transient"] * 3 + ["gave_up"]
    assert "451" in query("select error from deliveries")[0][0]
    # never reported delivered; the consumer itself succeeded (the relay retries, not the broker)
    assert query("select 1 from outbox where message_name = 'notifications.bill_delivered.v1'") == []
    assert dead_letters("notifications.on_bill_issued") == []


def test_the_consumers_accept_every_contract_example(notifications, mail_relay, mail_drop, publish):
    openings, bills, notices = (get(name).examples() for name in (ACCOUNT_OPENED, BILL_ISSUED, NOTICE_REQUESTED))
    choices, closings = (get(name).examples() for name in (BILL_DELIVERY_CHANGED, ACCOUNT_CLOSED))
    assert openings and bills and notices and choices and closings
    for example in openings:
        publish(ACCOUNT_OPENED, example)
    for example in notices:  # the past-due examples name their own accounts
        known_contact(publish, account_id=example["account_id"])
    for example in openings:
        wait_for(lambda: query("select 1 from contacts where account_id = :a", a=example["account_id"]),
                 message=f"example contact {example['account_id']}")
    for example in bills:
        publish(BILL_ISSUED, example)
    for example in notices:
        publish(NOTICE_REQUESTED, example)
    wait_for(lambda: len(query("select 1 from outbox where message_name = 'notifications.bill_delivered.v1'"))
             == len(bills), message="every bill example delivered (on paper: no choice made)")
    wait_for(lambda: len(query("select 1 from deliveries where kind = 'past_due_notice' and status = 'sent'"))
             == len(notices), message="every past-due example delivered (on paper: no choice made)")
    for example in choices:
        publish(BILL_DELIVERY_CHANGED, example)
    for example in closings:
        publish(ACCOUNT_CLOSED, example)
    wait_for(lambda: len(query("select 1 from inbox where consumer in ('notifications.on_bill_delivery_changed', "
                               "'notifications.on_account_closed')")) == len(choices) + len(closings),
             message="every choice and closing example handled")
    for consumer in ("on_bill_issued", "on_notice_requested", "on_bill_delivery_changed", "on_account_closed"):
        assert dead_letters(f"notifications.{consumer}") == [], consumer


def test_an_account_with_no_notices_has_no_deliveries(notifications):
    assert notifications.list_deliveries("A9999999") == {"account_id": "A9999999", "deliveries": []}


def test_the_migrations_create_exactly_the_models_tables(service_db):
    engine = service_db("notifications").engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


COLLECTION_NOTICE_REQUESTED = "collections.collection_notice_requested.v1"


def dispatched() -> list[dict]:
    from cis_contracts.envelope import open_envelope
    rows = query("select envelope from outbox where message_name = 'notifications.notice_dispatched.v1' order by id")
    return [open_envelope(envelope)[1] for (envelope,) in rows]


def manifest(mail_drop, day="2026-05-26") -> list[dict]:
    import csv
    with (mail_drop / day / "manifest.csv").open(newline="") as rows:
        return list(csv.DictReader(rows))


def test_hsc_116908_gov_60373_a_shutoff_notice_is_printed_for_the_mail_house_and_reported_mailed(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004")
    notice = get(COLLECTION_NOTICE_REQUESTED).examples()[0]
    envelope = publish(COLLECTION_NOTICE_REQUESTED, notice)

    mailed, emailed = wait_for(lambda: len(dispatched()) == 2 and dispatched(), message="mailed and emailed")
    assert (mailed["channel"], mailed["notice_id"], mailed["notice_kind"], mailed["dispatched_on"].isoformat(),
            mailed["address"]) == ("mail", "N0000007", "shutoff_notice", "2026-05-26", "PO Box 9, Springville, CA 95000")
    assert (emailed["channel"], emailed["address"]) == ("email", "ana.reyes@example.org")
    [row] = manifest(mail_drop)
    assert (row["document"], row["channel"], row["addressee"], row["address"]) == (
        mailed["document"], "mail", "Ana Flores", "PO Box 9, Springville, CA 95000")
    letter = (mail_drop / mailed["document"]).read_text()
    assert letter.startswith("<!DOCTYPE html>") and "<title>Notice of past-due water bill and scheduled shutoff" in letter
    # every item H&S 116908(a)(1)(C) requires is on the printed letter
    for item in ("Ana Flores", "PO Box 9, Springville, CA 95000", "$64.55", "pay or arrange to pay by 2026-06-22",
                 notice["extension_process"], notice["bill_review_process"], notice["alternative_payment_process"],
                 notice["policy_url"], notice["phone"]):
        assert item in letter, item
        assert item in mail_relay.messages[0].get_content(), item

    publish(COLLECTION_NOTICE_REQUESTED, envelope=envelope)  # redelivered: mailed once, reported once
    publish(COLLECTION_NOTICE_REQUESTED, {**notice, "notice_id": "N0000008", "kind": "occupant_notice",
                                          "addressee": "Occupant", "address": "12 Elm St, Springville, CA 95000"})
    wait_for(lambda: len(dispatched()) == 3, message="the Occupant copy mailed")
    assert [(d["notice_id"], d["channel"]) for d in dispatched()] == [
        ("N0000007", "mail"), ("N0000007", "email"), ("N0000008", "mail")]  # the Occupant copy is not emailed
    assert [r["addressee"] for r in manifest(mail_drop)] == ["Ana Flores", "Occupant"]
    assert len(mail_relay.messages) == 1
    assert sorted((d["kind"], d["status"]) for d in deliveries(notifications, "A0000004")) == [
        ("occupant_notice", "sent"), ("shutoff_notice", "sent"), ("shutoff_notice", "sent")]


def test_gov_60373_a_48_hour_notice_is_printed_as_a_door_hanger_and_not_reported_as_given(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004", email=None)
    notice = {**get(COLLECTION_NOTICE_REQUESTED).examples()[0], "notice_id": "N0000010",
              "kind": "forty_eight_hour_notice", "delivery": "post_at_premises",
              "address": "12 Elm St, Springville, CA 95000"}
    publish(COLLECTION_NOTICE_REQUESTED, notice)
    [row] = wait_for(lambda: (mail_drop / "2026-05-26" / "manifest.csv").exists() and manifest(mail_drop),
                     message="door hanger printed")
    assert (row["channel"], row["kind"], row["address"]) == ("door_hanger", "forty_eight_hour_notice",
                                                             "12 Elm St, Springville, CA 95000")
    assert "48-hour notice" in (mail_drop / row["document"]).read_text()
    wait_for(lambda: len(deliveries(notifications, "A0000004")) == 2, message="deliveries recorded")
    # operations reports the posting to collections; notifications reports no mailing for it
    assert dispatched() == [] and mail_relay.messages == []


def test_hsc_116916_a_tenant_notice_tells_occupants_they_may_become_customers(
        notifications, mail_relay, mail_drop, publish):
    known_contact(publish, account_id="A0000004")
    notice = {**get(COLLECTION_NOTICE_REQUESTED).examples()[0], "kind": "tenant_notice",
              "addressee": "Residential occupants", "may_become_customer_without_arrears": True}
    publish(COLLECTION_NOTICE_REQUESTED, notice)
    [mailed] = wait_for(dispatched, message="tenant notice mailed")
    assert "without paying the amount owed on the owner's account" in (mail_drop / mailed["document"]).read_text()
    assert deliveries(notifications, "A0000004")[0]["kind"] == "tenant_notice"
    assert mail_relay.messages == []  # the residents get it on paper at the service address


def test_gov_60373_a_relay_that_keeps_refusing_does_not_hold_up_the_mailed_letter(
        notifications, mail_relay, mail_drop, publish, monkeypatch):
    monkeypatch.setenv("CIS_EMAIL_RETRY_SECONDS", "0.1")
    monkeypatch.setenv("CIS_EMAIL_MAX_ATTEMPTS", "2")
    known_contact(publish, account_id="A0000004")
    mail_relay.refuse_next = 1000
    publish(COLLECTION_NOTICE_REQUESTED, get(COLLECTION_NOTICE_REQUESTED).examples()[0])
    wait_for(lambda: query("select 1 from deliveries where channel = 'email' and status = 'failed'"), timeout=30,
             message="email given up")
    assert [(d["channel"], d["notice_id"]) for d in dispatched()] == [("mail", "N0000007")]
    assert [r["notice_id"] for r in manifest(mail_drop)] == ["N0000007"]


def test_an_account_id_with_a_nul_or_a_megabyte_long_is_refused_naming_the_field(running_services, rpc):
    from cis_runtime.errors import InvalidInput
    running_services("notifications")  # issue 10: a NUL reached PostgreSQL (a 500)
    for call in (rpc.notifications.list_deliveries, rpc.notifications.list_deliveries_v2):
        for account_id in ("A\x00", "A" * 1_000_000, 7):
            with pytest.raises(InvalidInput) as error:
                call(account_id)
            assert "account_id" in error.value.args[0]
