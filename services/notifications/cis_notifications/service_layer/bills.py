"""Delivering bills (issue 9, case 6): every bill is mailed unless the customer chose paperless and its address
works; each bill is delivered once and reported (notifications.bill_delivered.v1) in the same transaction as
its delivery row, since collections counts every period from the day a bill was delivered. The past-due
reminder (service_layer/past_due.py) reaches the customer by the same rule (`deliver_by_bill_rule`).

Also keeps what decides the way: the customer's choice (accounts.bill_delivery_changed.v1) and a closed
account's forwarding address (accounts.account_closed.v2).
"""
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_notifications.adapters.mail_house import MailHouse, PrintedDocument
from cis_contracts.registry import get as contract
from cis_notifications.adapters.models import AccountClosing, BillDeliveryChoice, Contact, Delivery
from cis_notifications.domain import bills, messages
from cis_notifications.service_layer.services import ContactUnknown, DeliveryFailed, _record, record_email

BILL_DELIVERED = "notifications.bill_delivered.v1"
BILL_ISSUED = "billing.bill_issued.v1"
KIND = messages.BILL_NOTICE


@dataclass(frozen=True)
class Letter:
    """A document that goes by the bill's rule, composed for its reader: the email for a paperless customer, and
    the printed page (for the addressee at the address) for everyone else."""
    email: messages.Email
    mail_subject: str                 # what the deliveries show for the printed one
    printed_kind: str                 # names the printed file: <reference>-<printed_kind>.html
    print: Callable[[str, str], str]  # (addressee, address) -> the printed page


@dataclass(frozen=True)
class Delivered:
    channel: str  # mail | email
    addressee: str
    address: str  # the postal address, or the email address
    document: str | None


def deliver_bill(uow, mailer, mail_house: MailHouse, source_message_id: str, bill: dict) -> None:
    """Email a paperless customer's bill; mail everyone else's, and the paperless one whose address the relay
    refuses for good (then later bills are mailed too, until the customer makes a new choice). A relay or
    print failure raises DeliveryFailed: retried, finally dead-lettered, never reported delivered."""
    delivered = deliver_by_bill_rule(uow, mailer, mail_house, source_message_id, bill["account_id"], KIND,
                                     bill["bill_id"], bill_letter(bill), lambda: {"message_name": BILL_ISSUED,
                                                                                  "payload": _dumped(BILL_ISSUED, bill)})
    if delivered is not None:
        _delivered(uow, bill, delivered)


def bill_letter(bill: dict) -> Callable[[messages.Contact], Letter]:
    def letter(reader: messages.Contact) -> Letter:
        return Letter(messages.bill_notice(reader, bill), f"Your water bill {bill['bill_id']}", "bill",
                      lambda addressee, address: messages.printed_bill(reader, bill, addressee, address))
    return letter


def _dumped(message_name: str, payload: dict) -> dict:
    return contract(message_name).schema().dump(payload)


def loaded_source(source: dict) -> dict:
    return contract(source["message_name"]).schema().load(source["payload"])


def deliver_by_bill_rule(uow, mailer, mail_house: MailHouse, source_message_id: str, account_id: str, kind: str,
                         reference: str, compose: Callable[[messages.Contact], Letter],
                         source: Callable[[], dict] | None = None) -> Delivered | None:
    """Deliver the document `reference` (a bill or notice id) once, by the customer's choice (domain/bills.py):
    None when it was delivered already, whatever message carried it before, or when it is to be emailed (then
    the send relay reports it after the relay took it: `email_sent`, or prints it if refused: `email_refused`).
    `source` gives {"message_name", "payload"} (the message carrying it), kept with a pending email for that."""
    # The account's contact is locked first, so the same document carried by two messages at once is
    # delivered by one of them; the other then sees it delivered.
    contact = uow.session.get(Contact, account_id, with_for_update=True)
    if contact is None:
        raise ContactUnknown(f"no contact yet for account {account_id}")
    if _already_delivered(uow, kind, reference):
        return None
    letter = compose(_reader(contact))
    choice = uow.session.get(BillDeliveryChoice, account_id, with_for_update=True)
    if bills.bill_channel(_domain_choice(choice)) == bills.EMAIL:
        _emailed(uow, mailer, source_message_id, kind, reference, letter, contact, choice, source)
        return None
    return _mailed(uow, mail_house, source_message_id, kind, reference, letter, contact)


def _emailed(uow, mailer, source_message_id: str, kind: str, reference: str, letter: Letter, contact: Contact,
             choice: BillDeliveryChoice, source: Callable[[], dict] | None) -> None:
    """The email to the address of the choice, recorded pending for the send relay."""
    delivery = {"account_id": contact.account_id, "kind": kind, "channel": "email", "source_message_id":
                source_message_id, "recipient": choice.email, "subject": letter.email.subject, "reference": reference}
    record_email(uow, mailer, delivery, letter.email, source() if source else None)


def email_sent(uow, delivery: Delivery) -> None:
    """The relay took the e-bill: reported delivered by email (the business date it was accepted)."""
    if delivery.kind == KIND:
        contact = uow.session.get(Contact, delivery.account_id)
        _delivered(uow, {"bill_id": delivery.reference, "account_id": delivery.account_id},
                   Delivered("email", contact.customer_name, delivery.recipient, None))


def email_refused(uow, mail_house: MailHouse, delivery: Delivery, error: str,
                  compose: Callable[[messages.Contact], Letter]) -> None:
    """The relay refused the address for good: marked not working (later bills are mailed until the customer
    chooses again) and the document printed for the mail house instead, a bill reported delivered by mail.
    Raises DeliveryFailed when the drop cannot be written (the relay tries the printing again later)."""
    contact = uow.session.get(Contact, delivery.account_id, with_for_update=True)
    choice = uow.session.get(BillDeliveryChoice, delivery.account_id, with_for_update=True)
    if choice is not None and choice.email == delivery.recipient and choice.email_refused_on is None:
        choice.email_refused_on, choice.email_refused_error = uow.today(), error
    if _already_delivered(uow, delivery.kind, delivery.reference):
        return
    delivered = _mailed(uow, mail_house, delivery.source_message_id, delivery.kind, delivery.reference,
                        compose(_reader(contact)), contact)
    if delivery.kind == KIND:
        _delivered(uow, {"bill_id": delivery.reference, "account_id": delivery.account_id}, delivered)


def _mailed(uow, mail_house: MailHouse, source_message_id: str, kind: str, reference: str, letter: Letter,
            contact: Contact) -> Delivered:
    closing = uow.session.get(AccountClosing, contact.account_id)
    address = bills.one_line(closing.forwarding_address if closing and closing.forwarding_address
                             else contact.mailing_address)
    addressee = contact.customer_name
    delivery = {"account_id": contact.account_id, "kind": kind, "channel": "mail", "source_message_id":
                source_message_id, "recipient": f"{addressee}, {address}", "subject": letter.mail_subject,
                "reference": reference}
    # The printed document is named by the bill or notice (<day>/<reference>-<kind>.html), not by the message
    # or the attempt: if the drop succeeded but this transaction did not commit (a crash, a lost database
    # connection), the redelivered message is not in the inbox, so it is printed again - and rewrites the same
    # file and manifest row, so the mail house still mails one letter. (A retry on a later business date would
    # file it under that date: retries are seconds apart, the business date moves once a day.)
    try:
        document = mail_house.drop(PrintedDocument(
            reference, contact.account_id, letter.printed_kind, "mail", addressee, address,
            letter.print(addressee, address)), uow.today())
    except OSError as exc:
        raise DeliveryFailed(delivery, f"mail house drop: {type(exc).__name__}: {exc}") from exc
    _record(uow, {**delivery, "document": document, "status": "sent", "error": None})
    return Delivered("mail", addressee, address, document)


def _delivered(uow, bill: dict, delivered: Delivered) -> None:
    uow.emit(BILL_DELIVERED, {
        "delivery_id": f"{bill['bill_id']}-bill", "bill_id": bill["bill_id"], "account_id": bill["account_id"],
        "channel": delivered.channel, "delivered_on": uow.today(), "addressee": delivered.addressee,
        "address": delivered.address, "document": delivered.document})


def _already_delivered(uow, kind: str, reference: str) -> bool:
    return uow.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.reference == reference, Delivery.kind == kind,
        Delivery.status.in_(("sent", "pending")))) > 0  # pending: an email the send relay has yet to send


def _domain_choice(row: BillDeliveryChoice | None) -> bills.DeliveryChoice | None:
    if row is None:
        return None
    return bills.DeliveryChoice(row.paperless, row.email, row.email_refused_on is not None)


def _reader(contact: Contact) -> messages.Contact:
    return messages.Contact(contact.account_id, contact.customer_name, contact.email, contact.preferred_language)


def record_bill_delivery_choice(uow, changed: dict) -> None:
    """Keep the highest revision: an older choice arriving late is ignored. A new choice clears the mark of a
    refused address (the customer has chosen again, perhaps with a new address)."""
    values = {"account_id": changed["account_id"], "paperless": changed["paperless"], "email": changed["email"],
              "changed_on": changed["changed_on"], "revision": changed["revision"], "email_refused_on": None,
              "email_refused_error": None}
    statement = insert(BillDeliveryChoice).values(**values)
    uow.session.execute(statement.on_conflict_do_update(
        index_elements=[BillDeliveryChoice.account_id],
        set_={name: statement.excluded[name] for name in values if name != "account_id"},
        where=BillDeliveryChoice.revision < statement.excluded.revision))


def record_closing(uow, closed: dict) -> None:
    values = {"account_id": closed["account_id"], "closed_on": closed["closed_on"],
              "forwarding_address": closed["forwarding_address"]}
    statement = insert(AccountClosing).values(**values)
    uow.session.execute(statement.on_conflict_do_update(
        index_elements=[AccountClosing.account_id],
        set_={name: statement.excluded[name] for name in values if name != "account_id"}))
