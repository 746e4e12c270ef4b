"""Notifications use cases: keep the contact directory, send each notice once, record every delivery
(bills: service_layer/bills.py; past-due reminders: service_layer/past_due.py)."""
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_notifications.adapters.mail_house import MailHouse, PrintedDocument
from cis_notifications.adapters.models import Contact, Delivery, ids
from cis_notifications.adapters.notice_texts import notice_languages
from cis_notifications.domain.messages import Email, next_identifier
from cis_notifications.domain import messages

DONE = ("sent", "no_address", "pending")  # statuses after which a consumer never records the notice again
NOTICE_DISPATCHED = "notifications.notice_dispatched.v1"
# Addressed to the customer, so also emailed when there is an address; the Occupant copy and the
# tenant notice are for the people living at the service address, on paper only.
EMAILED_TOO = ("shutoff_notice", "forty_eight_hour_notice", "plan_default_final_notice")


class ContactUnknown(Exception):
    """The account's account_opened has not arrived yet: retried, since events of two producers race."""


class DeliveryFailed(Exception):
    """The relay did not take the email. Carries the delivery to record; the handler re-raises to retry."""

    def __init__(self, delivery: dict, error: str):
        super().__init__(f"{delivery['kind']} to {delivery['recipient']}: {error}")
        self.delivery = {**delivery, "status": "failed", "error": error}


def record_contact(uow, opened: dict) -> None:
    values = {"account_id": opened["account_id"], "customer_name": opened["customer_name"],
              "email": opened["email"], "mailing_address": opened["mailing_address"],
              "preferred_language": opened["preferred_language"]}
    statement = insert(Contact).values(**values)
    uow.session.execute(statement.on_conflict_do_update(
        index_elements=[Contact.account_id], set_={k: statement.excluded[k] for k in values if k != "account_id"}))


def print_collection_notice(uow, mail_house: MailHouse, source_message_id: str, notice: dict) -> None:
    """Shutoff, Occupant, tenant, 48-hour and plan-default notices on paper. A mailed notice is printed into
    the mail-house drop and reported mailed that business day (notifications.notice_dispatched.v1): the
    law's periods count from the mailing. A notice to post is printed as a door hanger for field staff (the
    posting itself is reported by operations to collections)."""
    kind, account_id = notice["kind"], notice["account_id"]
    channel = "mail" if notice["delivery"] == "mail" else "posted"
    if _previous_status(uow, source_message_id, kind, channel) in DONE:
        return
    contact, today = _contact(uow, account_id), uow.today()
    document = mail_house.drop(PrintedDocument(
        notice["notice_id"], account_id, kind, "mail" if channel == "mail" else "door_hanger",
        notice["addressee"], notice["address"], messages.printed_notice(contact, notice, notice_languages())), today)
    _record(uow, {"account_id": account_id, "kind": kind, "channel": channel, "document": document,
                  "source_message_id": source_message_id, "recipient": f"{notice['addressee']}, {notice['address']}",
                  "subject": messages.collection_notice(contact, notice, notice_languages()).subject, "status": "sent",
                  "error": None, "reference": notice["notice_id"]})
    if channel == "mail":
        _dispatched(uow, notice, "mail", today, notice["addressee"], notice["address"], document)


def email_collection_notice(uow, mailer, source_message_id: str, notice: dict) -> None:
    """The customer's own notices are also emailed (a courtesy copy: the law counts the mailed one). Sent
    by a consumer of its own, so a relay that keeps refusing never holds up the letter. Recorded pending here;
    the send relay sends it after commit and reports it dispatched (email_sent) once the relay took it."""
    if notice["kind"] not in EMAILED_TOO:
        return
    _deliver(uow, mailer, notice["kind"], source_message_id, notice["account_id"],
             lambda contact: messages.collection_notice(contact, notice, notice_languages()), notice["notice_id"])


def email_sent(uow, delivery) -> None:
    """After the relay took a collections notice's email: notifications.notice_dispatched.v1, as before."""
    if delivery.kind in EMAILED_TOO:
        contact = _contact(uow, delivery.account_id)
        _dispatched(uow, {"notice_id": delivery.reference, "account_id": delivery.account_id, "kind": delivery.kind},
                    "email", uow.today(), contact.name, contact.email, None)


def _dispatched(uow, notice: dict, channel: str, day, addressee: str, address: str, document: str | None) -> None:
    uow.emit(NOTICE_DISPATCHED, {
        "dispatch_id": f"{notice['notice_id']}-{channel}", "notice_id": notice["notice_id"],
        "account_id": notice["account_id"], "notice_kind": notice["kind"], "channel": channel, "dispatched_on": day,
        "addressee": addressee, "address": address, "document": document})


def _contact(uow, account_id: str) -> messages.Contact:
    contact = uow.session.get(Contact, account_id)
    if contact is None:
        raise ContactUnknown(f"no contact yet for account {account_id}")
    return messages.Contact(contact.account_id, contact.customer_name, contact.email, contact.preferred_language)


def _deliver(uow, mailer, kind: str, source_message_id: str, account_id: str, compose,
             reference: str | None = None) -> bool:
    """Record the email to send unless this source event already produced one; True when it was recorded
    now. `reference` is the bill or notice it carries; `mailer` only names the Message-ID's domain.

    Nothing is sent here: the delivery is committed 'pending' with its stable Message-ID and the send relay
    (service_layer/send_relay.py) sends it after the commit, so a crash or a lost database can no longer
    leave an email sent that the District's records do not show (issue 16).
    """
    if _previous_status(uow, source_message_id, kind, "email") in DONE:
        return False
    contact = _contact(uow, account_id)
    email: Email = compose(contact)
    delivery = {"account_id": account_id, "kind": kind, "channel": "email", "document": None,
                "source_message_id": source_message_id, "recipient": contact.email, "subject": email.subject,
                "reference": reference}
    if not contact.email:
        _record(uow, {**delivery, "status": "no_address", "error": None})
        return False
    record_email(uow, mailer, delivery, email)
    return True


def record_email(uow, mailer, delivery: dict, email: Email, source: dict | None = None) -> None:
    """The email as 'pending', due at once, with its Message-ID derived from the fact."""
    _record(uow, {**delivery, "status": "pending", "error": None, "body": email.body, "source": source,
                  "message_id": messages.message_id(delivery["source_message_id"], delivery["kind"], "email",
                                                    mailer.domain),
                  "next_attempt_at": datetime.now(timezone.utc)})


def record_failed_delivery(uow, failure: DeliveryFailed) -> None:
    """Kept in its own transaction so a notice that keeps failing (and is dead-lettered) stays visible."""
    _record(uow, failure.delivery)


def _previous_status(uow, source_message_id: str, kind: str, channel: str) -> str | None:
    return uow.session.scalar(sa.select(Delivery.status).where(
        Delivery.source_message_id == source_message_id, Delivery.kind == kind, Delivery.channel == channel))


def _record(uow, delivery: dict) -> None:
    """Insert or update the delivery of (source event, kind, channel), dated with today's business date (what
    staff read and the law counts) and the wall clock (for support staff)."""
    values = {"reference": None, "document": None, "message_id": None, "body": None, "source": None,
              "next_attempt_at": None, **delivery, "sent_at": datetime.now(timezone.utc),
              "business_date": uow.today(),
              "delivery_id": next_identifier("D", uow.session.execute(ids.next_value()).scalar())}
    statement = insert(Delivery).values(**values)
    uow.session.execute(statement.on_conflict_do_update(
        constraint="deliveries_one_per_source",
        set_={k: statement.excluded[k] for k in ("recipient", "subject", "status", "error", "sent_at", "business_date",
                                                 "reference", "document", "message_id", "body", "source",
                                                 "next_attempt_at")}))


def list_deliveries(uow, account_id: str) -> dict:
    rows = uow.session.scalars(sa.select(Delivery).where(Delivery.account_id == account_id)
                               .order_by(Delivery.sent_at, Delivery.delivery_id)).all()
    return {"account_id": account_id, "deliveries": [
        {"delivery_id": d.delivery_id, "kind": d.kind, "recipient": d.recipient, "subject": d.subject,
         "status": d.status, "sent_at": d.sent_at} for d in rows]}


def list_deliveries_v2(uow, account_id: str) -> dict:
    """notifications.deliveries.v2: oldest business date first, each with its channel and reference."""
    rows = uow.session.scalars(sa.select(Delivery).where(Delivery.account_id == account_id)
                               .order_by(Delivery.business_date, Delivery.sent_at, Delivery.delivery_id)).all()
    return {"account_id": account_id, "deliveries": [
        {"delivery_id": d.delivery_id, "kind": d.kind, "channel": d.channel, "recipient": d.recipient,
         "subject": d.subject, "status": d.status, "business_date": d.business_date, "reference": d.reference,
         "sent_at": d.sent_at} for d in rows]}
