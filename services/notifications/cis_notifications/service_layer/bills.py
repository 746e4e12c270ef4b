"""Delivering bills (issue 9, case 6): every bill is mailed unless the customer chose paperless and its address
works; each bill is delivered once and reported (notifications.bill_delivered.v1) in the same transaction as
its delivery row, since collections counts every period from the day a bill was delivered.

Also keeps what decides the way: the customer's choice (accounts.bill_delivery_changed.v1) and a closed
account's forwarding address (accounts.account_closed.v2).
"""
import smtplib

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_notifications.adapters.mail_house import MailHouse, PrintedDocument
from cis_notifications.adapters.mailer import address_refused
from cis_notifications.adapters.models import AccountClosing, BillDeliveryChoice, Contact, Delivery
from cis_notifications.domain import bills, messages
from cis_notifications.service_layer.services import ContactUnknown, DeliveryFailed, _record

BILL_DELIVERED = "notifications.bill_delivered.v1"
KIND = messages.BILL_NOTICE


def deliver_bill(uow, mailer, mail_house: MailHouse, source_message_id: str, bill: dict) -> None:
    """Email a paperless customer's bill; mail everyone else's, and the paperless one whose address the relay
    refuses for good (then later bills are mailed too, until the customer makes a new choice). A relay or
    print failure raises DeliveryFailed: retried, finally dead-lettered, never reported delivered."""
    if _already_delivered(uow, bill["bill_id"]):
        return  # the same bill in another message (billing re-published it): delivered once
    contact = uow.session.get(Contact, bill["account_id"])
    if contact is None:
        raise ContactUnknown(f"no contact yet for account {bill['account_id']}")
    choice = uow.session.get(BillDeliveryChoice, bill["account_id"], with_for_update=True)
    if bills.bill_channel(_domain_choice(choice)) == bills.EMAIL and _emailed(uow, mailer, source_message_id, bill,
                                                                                contact, choice):
        return
    _mailed(uow, mail_house, source_message_id, bill, contact)


def _emailed(uow, mailer, source_message_id: str, bill: dict, contact: Contact, choice: BillDeliveryChoice) -> bool:
    """The e-bill (the bill notice) to the address of the choice; False when the relay refused the address for
    good, which is then marked not working and the refusal recorded."""
    email = messages.bill_notice(_reader(contact), bill)
    delivery = {"account_id": bill["account_id"], "kind": KIND, "channel": "email", "source_message_id":
                source_message_id, "recipient": choice.email, "subject": email.subject, "reference": bill["bill_id"]}
    try:
        mailer.send(choice.email, email.subject, email.body)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if not address_refused(exc):
            raise DeliveryFailed(delivery, error) from exc
        choice.email_refused_on, choice.email_refused_error = uow.today(), error
        _record(uow, {**delivery, "status": "failed", "error": error})
        return False
    _record(uow, {**delivery, "status": "sent", "error": None})
    _delivered(uow, bill, "email", contact.customer_name, choice.email, None)
    return True


def _mailed(uow, mail_house: MailHouse, source_message_id: str, bill: dict, contact: Contact) -> None:
    closing = uow.session.get(AccountClosing, bill["account_id"])
    address = bills.one_line(closing.forwarding_address if closing and closing.forwarding_address
                             else contact.mailing_address)
    addressee = contact.customer_name
    delivery = {"account_id": bill["account_id"], "kind": KIND, "channel": "mail", "source_message_id":
                source_message_id, "recipient": f"{addressee}, {address}",
                "subject": f"Your water bill {bill['bill_id']}", "reference": bill["bill_id"]}
    today = uow.today()
    # The printed bill is named by the bill (<day>/<bill_id>-bill.html), not by the message or the attempt: if
    # the drop succeeded but this transaction did not commit (a crash, a lost database connection), the
    # redelivered bill_issued is not in the inbox, so it is printed again - and rewrites the same file and
    # manifest row, so the mail house still mails one letter. (A retry on a later business date would file
    # it under that date: retries are seconds apart, the business date moves once a day.)
    try:
        document = mail_house.drop(PrintedDocument(
            bill["bill_id"], bill["account_id"], "bill", "mail", addressee, address,
            messages.printed_bill(_reader(contact), bill, addressee, address)), today)
    except OSError as exc:
        raise DeliveryFailed(delivery, f"mail house drop: {type(exc).__name__}: {exc}") from exc
    _record(uow, {**delivery, "document": document, "status": "sent", "error": None})
    _delivered(uow, bill, "mail", addressee, address, document)


def _delivered(uow, bill: dict, channel: str, addressee: str, address: str, document: str | None) -> None:
    uow.emit(BILL_DELIVERED, {
        "delivery_id": f"{bill['bill_id']}-bill", "bill_id": bill["bill_id"], "account_id": bill["account_id"],
        "channel": channel, "delivered_on": uow.today(), "addressee": addressee, "address": address,
        "document": document})


def _already_delivered(uow, bill_id: str) -> bool:
    return uow.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.reference == bill_id, Delivery.kind == KIND, Delivery.status == "sent")) > 0


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
