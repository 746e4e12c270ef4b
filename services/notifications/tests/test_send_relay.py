"""Issue 16: an email is recorded 'to send' in the consumer's transaction and sent after commit by the send
relay, at most once per fact as far as SMTP allows. The relay's steps are run one by one against a real SMTP
server (aiosmtpd) and PostgreSQL, so a crash can be stopped at each point between them."""
import time
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from cis_contracts.registry import get
from cis_notifications.adapters.mail_house import FileDropMailHouse
from cis_notifications.adapters.mailer import SmtpMailer
from cis_notifications.domain import messages
from cis_notifications.service_layer import bills, send_relay, services
from cis_notifications.send_relay_runner import SendRelayRunner
from cis_runtime.testing import wait_for
from test_notifications_service import (BILL_ISSUED, bill_issued, chose_paperless, known_contact,  # noqa: F401
                                        mail_drop, mail_relay, notifications)

SOURCE = "5f7c3a52-0f5e-4a8e-9d1b-3c1f0e2a9b10"
SETTINGS = send_relay.Settings(retry_seconds=30, max_attempts=3, resend_after=timedelta(minutes=15))


@pytest.fixture
def uow_factory(service_db):
    return service_db("notifications")


@pytest.fixture
def drop(tmp_path):
    return FileDropMailHouse(tmp_path / "drop")


def bill_recorded_pending(uow_factory, drop, email="ana.reyes@example.org", source=SOURCE):
    """The consumer's unit of work for a paperless customer's bill: committed, nothing sent."""
    with uow_factory() as uow:
        services.record_contact(uow, get("accounts.account_opened.v1").examples()[0])
        bills.record_bill_delivery_choice(uow, {"account_id": "A0000001", "paperless": True, "email": email,
                                                "changed_on": date(2026, 5, 1), "revision": 1})
        bill = get(BILL_ISSUED).schema().load({**get(BILL_ISSUED).examples()[0], "account_id": "A0000001"})
        bills.deliver_bill(uow, SmtpMailer.from_config(), drop, source, bill)
        uow.commit()


def delivery(uow_factory):
    with uow_factory() as uow:
        row = uow.session.execute(sa.text("select delivery_id, status, message_id from deliveries "
                                          "where channel = 'email'")).one()
        return row._asdict()


def outcomes(uow_factory):
    with uow_factory() as uow:
        return [outcome for outcome, _ in send_relay.attempts(uow, delivery(uow_factory)["delivery_id"])]


def reported(uow_factory):
    with uow_factory() as uow:
        return uow.session.execute(sa.text("select count(*) from outbox where message_name = "
                                           "'notifications.bill_delivered.v1'")).scalar()


def test_the_consumer_commits_the_email_as_pending_and_sends_nothing(uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)
    assert delivery(uow_factory)["status"] == "pending" and mail_relay.messages == []
    assert reported(uow_factory) == 0  # bill_delivered only once the relay took it


def test_the_message_id_is_derived_from_the_fact_and_carried_by_the_email(uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)
    expected = f"<{uuid.uuid5(messages.MESSAGE_ID_NAMESPACE, SOURCE + '/bill_notice/email')}@water-district.example>"
    assert messages.message_id(SOURCE, "bill_notice", "email", "water-district.example") == expected
    assert delivery(uow_factory)["message_id"] == expected
    assert send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS) == 1
    [email] = mail_relay.messages
    assert email["Message-ID"] == expected
    assert (delivery(uow_factory)["status"], outcomes(uow_factory), reported(uow_factory)) == (
        "sent", ["sending", "sent"], 1)
    assert send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS) == 0  # nothing left
    assert len(mail_relay.messages) == 1


def test_a_crash_between_the_consumers_commit_and_the_relay_sends_once_on_the_sweep(uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)  # the process died here: the relay never ran
    for _ in range(3):  # the restarted relay's sweeps
        send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS)
    assert len(mail_relay.messages) == 1 and outcomes(uow_factory) == ["sending", "sent"]


def test_a_crash_after_sending_began_is_not_resent_within_the_window_then_resent_with_the_same_message_id(
        uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)
    mailer = SmtpMailer.from_config()
    with uow_factory() as uow:  # step 1, committed
        [claimed] = send_relay.claim(uow, SETTINGS)
        uow.commit()
    assert send_relay.send(mailer, claimed) is None  # step 2 ... and the relay is killed before step 3
    assert len(mail_relay.messages) == 1

    for _ in range(3):  # restarted: the ambiguous delivery is left alone within the window
        assert send_relay.send_due(uow_factory, mailer, drop, SETTINGS) == 0
    assert len(mail_relay.messages) == 1 and outcomes(uow_factory) == ["sending"]
    assert delivery(uow_factory)["status"] == "pending" and reported(uow_factory) == 0

    later = lambda: send_relay._now() + SETTINGS.resend_after + timedelta(seconds=1)  # noqa: E731
    assert send_relay.send_due(uow_factory, mailer, drop, SETTINGS, now=later) == 1
    first, second = mail_relay.messages
    assert first["Message-ID"] == second["Message-ID"] == delivery(uow_factory)["message_id"]  # de-duplicable
    assert outcomes(uow_factory) == ["sending", "unknown", "sending", "sent"]
    with uow_factory() as uow:
        assert send_relay.ambiguous_resends(uow) == 1
    assert reported(uow_factory) == 1


def test_a_crash_after_claiming_but_before_sending_sends_once_after_the_window(uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)
    with uow_factory() as uow:
        send_relay.claim(uow, SETTINGS)
        uow.commit()  # killed before talking to SMTP
    assert send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS) == 0
    later = lambda: send_relay._now() + SETTINGS.resend_after + timedelta(seconds=1)  # noqa: E731
    send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS, now=later)
    assert len(mail_relay.messages) == 1 and delivery(uow_factory)["status"] == "sent"


def test_a_transient_failure_is_retried_later_and_every_attempt_is_kept(uow_factory, drop, mail_relay):
    bill_recorded_pending(uow_factory, drop)
    mail_relay.refuse_next = 1
    mailer = SmtpMailer.from_config()
    assert send_relay.send_due(uow_factory, mailer, drop, SETTINGS) == 1
    assert (delivery(uow_factory)["status"], outcomes(uow_factory)) == ("pending", ["sending", "transient"])
    assert send_relay.send_due(uow_factory, mailer, drop, SETTINGS) == 0  # not due before retry_seconds
    later = lambda: send_relay._now() + timedelta(seconds=SETTINGS.retry_seconds + 1)  # noqa: E731
    assert send_relay.send_due(uow_factory, mailer, drop, SETTINGS, now=later) == 1
    assert len(mail_relay.messages) == 1
    assert outcomes(uow_factory) == ["sending", "transient", "sending", "sent"]
    with uow_factory() as uow:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            uow.session.execute(sa.text("update delivery_attempts set outcome = 'sent'"))


def test_a_refused_address_prints_the_bill_instead_and_reports_it_delivered_by_mail(uow_factory, drop, mail_relay):
    mail_relay.unknown_mailboxes.add("gone@example.org")
    bill_recorded_pending(uow_factory, drop, email="gone@example.org")
    send_relay.send_due(uow_factory, SmtpMailer.from_config(), drop, SETTINGS)
    assert (delivery(uow_factory)["status"], outcomes(uow_factory)) == ("failed", ["sending", "refused"])
    with uow_factory() as uow:
        assert uow.session.execute(sa.text("select status from deliveries where channel = 'mail'")).scalar() == "sent"
        assert uow.session.execute(sa.text("select email_refused_on is not null from bill_delivery_choices")).scalar()
    assert reported(uow_factory) == 1 and len(list(drop.directory.glob("*/*-bill.html"))) == 1


@pytest.fixture
def slow_sweep(monkeypatch):
    """A sweep so slow that only the wake after the consumer's commit can get the email out in time."""
    monkeypatch.setattr(SendRelayRunner, "poll_seconds", 60)


def test_the_relay_is_woken_by_the_consumers_commit_not_only_by_its_sweep(slow_sweep, notifications, mail_relay,
                                                                          publish):
    known_contact(publish)
    chose_paperless(publish)
    started = time.monotonic()
    publish(BILL_ISSUED, bill_issued())
    [email] = wait_for(lambda: mail_relay.messages, timeout=10, message="bill email")
    assert time.monotonic() - started < 5
    assert email["Message-ID"].endswith("@water-district.example>")
