"""The send relay (issue 16): emails leave after the transaction that decided them, at most once per fact as
far as SMTP allows.

A consumer records an email as a 'pending' delivery (with its stable Message-ID, domain/messages.message_id)
in its own unit of work. The relay then, for each pending delivery that is due:

1. claims it (SELECT ... FOR UPDATE SKIP LOCKED), appends a 'sending' attempt, pushes its next_attempt_at past
   the resend window, and COMMITS - before talking to SMTP;
2. sends it, with its Message-ID;
3. appends the outcome as a new attempt and updates the delivery, in one transaction with what follows from it:
   - sent: the delivery is sent (business date of acceptance); a bill is reported notifications.bill_delivered.v1,
     a collections notice notifications.notice_dispatched.v1 - through the outbox, as before;
   - refused (a 5xx to the recipient or the message): the delivery failed; an e-bill or past-due reminder marks
     the address not working and is printed for the mail house instead (bills.email_refused);
   - transient (4xx, no connection): retried after retry_seconds * 2^(tries-1) (capped at an hour); after
     max_attempts tries the delivery failed ('gave_up'), shown to staff with its last error.

After a crash: a delivery whose last attempt is 'sending' is the ambiguous case - the relay may or may not have
handed it over. It is not touched until resend_after has passed since that attempt (its next_attempt_at; default
15 minutes: longer than any SMTP conversation). Then an 'unknown' attempt is appended (counted by
`ambiguous_resends`) and it is sent again with the SAME Message-ID, so the receiving side can de-duplicate;
we prefer a possible duplicate carrying the same Message-ID over a bill or shutoff notice never received.
A crash after step 1 but before step 2 is the same case. A crash before step 1 leaves a pending delivery that
the relay's periodic sweep sends once.

Plain Python: no nameko; the edge (cis_notifications.send_relay_runner) runs `send_due` on wake and sweep.
"""
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from cis_notifications.adapters.mailer import address_refused
from cis_notifications.adapters.models import Delivery, DeliveryAttempt
from cis_notifications.domain import messages
from cis_notifications.service_layer import bills, past_due, services

COMPOSE = {messages.BILL_NOTICE: bills.bill_letter, messages.PAST_DUE_NOTICE: past_due.past_due_letter}


@dataclass(frozen=True)
class Settings:
    retry_seconds: float = 30
    max_attempts: int = 8
    resend_after: timedelta = timedelta(minutes=15)
    batch: int = 20

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(float(os.environ.get("CIS_EMAIL_RETRY_SECONDS", 30)),
                   int(os.environ.get("CIS_EMAIL_MAX_ATTEMPTS", 8)),
                   timedelta(seconds=float(os.environ.get("CIS_EMAIL_RESEND_AFTER_SECONDS", 900))))


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    recipient: str
    subject: str
    body: str
    message_id: str
    print_only: bool  # refused already, only the printing failed: print it, do not send again


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _attempt(uow, delivery: Delivery, outcome: str, at: datetime, error: str | None = None) -> None:
    uow.session.add(DeliveryAttempt(delivery_id=delivery.delivery_id, outcome=outcome, at=at,
                                    message_id=delivery.message_id, error=error))


def _last_outcome(uow, delivery_id: str) -> str | None:
    return uow.session.scalar(sa.select(DeliveryAttempt.outcome).where(DeliveryAttempt.delivery_id == delivery_id)
                              .order_by(DeliveryAttempt.attempt_id.desc()).limit(1))


def claim(uow, settings: Settings, now: datetime | None = None) -> list[Claimed]:
    """Step 1: the due pending emails, each with a 'sending' attempt; the caller commits before sending."""
    now = now or _now()
    rows = uow.session.scalars(
        sa.select(Delivery).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at).limit(settings.batch).with_for_update(skip_locked=True)).all()
    claimed = []
    for delivery in rows:
        last = _last_outcome(uow, delivery.delivery_id)
        delivery.next_attempt_at = now + settings.resend_after
        if last == "refused":
            claimed.append(Claimed(delivery.delivery_id, delivery.recipient, delivery.subject, delivery.body,
                                   delivery.message_id, True))
            continue
        if last == "sending":
            _attempt(uow, delivery, "unknown", now, "no outcome recorded: the relay stopped after sending began; "
                                                     "sent again with the same Message-ID")
        _attempt(uow, delivery, "sending", now)
        claimed.append(Claimed(delivery.delivery_id, delivery.recipient, delivery.subject, delivery.body,
                               delivery.message_id, False))
    return claimed


def send(mailer, claimed: Claimed) -> Exception | None:
    """Step 2: hand it to SMTP; the error if it was not accepted."""
    try:
        mailer.send(claimed.recipient, claimed.subject, claimed.body, claimed.message_id)
    except (smtplib.SMTPException, OSError) as exc:
        return exc
    return None


def record_outcome(uow_factory, mail_house, claimed: Claimed, error: Exception | None, settings: Settings,
                   now: datetime | None = None) -> str:
    """Step 3: the outcome as a new attempt, and what follows from it, in one transaction; returns the outcome."""
    now = now or _now()
    text = None if error is None else f"{type(error).__name__}: {error}"
    try:
        with uow_factory() as uow:
            delivery = uow.session.get(Delivery, claimed.delivery_id, with_for_update=True)
            if delivery.status != "pending":
                return delivery.status
            outcome = _apply(uow, mail_house, delivery, claimed, error, text, settings, now)
            uow.commit()
            return outcome
    except services.DeliveryFailed as failure:  # refused, and the mail-house drop could not be written
        with uow_factory() as uow:
            delivery = uow.session.get(Delivery, claimed.delivery_id, with_for_update=True)
            if not claimed.print_only:
                _attempt(uow, delivery, "refused", now, text)
            delivery.error = f"{text or delivery.error}; printing instead failed: {failure.delivery['error']}"
            delivery.next_attempt_at = now + timedelta(seconds=settings.retry_seconds)
            uow.commit()
        return "refused"


def _apply(uow, mail_house, delivery: Delivery, claimed: Claimed, error, text, settings, now) -> str:
    if claimed.print_only or (error is not None and address_refused(error)):
        if not claimed.print_only:
            _attempt(uow, delivery, "refused", now, text)
            delivery.error = text
        delivery.status, delivery.next_attempt_at = "failed", None
        delivery.sent_at, delivery.business_date = now, uow.today()
        uow.session.flush()
        if delivery.kind in COMPOSE:
            bills.email_refused(uow, mail_house, delivery, delivery.error,
                                COMPOSE[delivery.kind](bills.loaded_source(delivery.source)))
        return "refused"
    if error is None:
        _attempt(uow, delivery, "sent", now)
        delivery.status, delivery.error, delivery.next_attempt_at = "sent", None, None
        delivery.sent_at, delivery.business_date = now, uow.today()
        uow.session.flush()
        bills.email_sent(uow, delivery)
        services.email_sent(uow, delivery)
        return "sent"
    _attempt(uow, delivery, "transient", now, text)
    delivery.error = text
    tries = uow.session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt).where(
        DeliveryAttempt.delivery_id == delivery.delivery_id, DeliveryAttempt.outcome == "sending"))
    if tries >= settings.max_attempts:
        _attempt(uow, delivery, "gave_up", now, f"{tries} tries: {text}")
        delivery.status, delivery.next_attempt_at = "failed", None
        return "gave_up"
    delivery.next_attempt_at = now + timedelta(seconds=min(settings.retry_seconds * 2 ** (tries - 1), 3600))
    return "transient"


def send_due(uow_factory, mailer, mail_house, settings: Settings | None = None,
             now: Callable[[], datetime] = _now) -> int:
    """One pass of the relay: claim (and commit), send, record each outcome; the number claimed."""
    settings = settings or Settings.from_env()
    with uow_factory() as uow:
        claimed = claim(uow, settings, now())
        uow.commit()
    for item in claimed:
        error = None if item.print_only else send(mailer, item)
        record_outcome(uow_factory, mail_house, item, error, settings, now())
    return len(claimed)


def ambiguous_resends(uow) -> int:
    """How many emails were sent again after a crash left their outcome unknown (same Message-ID)."""
    return uow.session.scalar(sa.select(sa.func.count()).select_from(DeliveryAttempt)
                              .where(DeliveryAttempt.outcome == "unknown"))


def attempts(uow, delivery_id: str) -> list[tuple[str, str | None]]:
    return [(a.outcome, a.error) for a in uow.session.scalars(
        sa.select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
        .order_by(DeliveryAttempt.attempt_id))]
