"""The past-due reminder (collections.notice_requested.v1) reaches the customer by the bill's delivery rule
(issue 9, case 6: a customer without email never heard a bill was past due): emailed to a paperless customer
with a working address, otherwise printed for the mail house, to a closed account's forwarding address.

Nothing is reported to collections (no notifications.notice_dispatched.v1): the reminder is no statutory
notice, and collections counts no period from it."""
from collections.abc import Callable

from cis_notifications.adapters.mail_house import MailHouse
from cis_notifications.adapters.notice_texts import notice_languages
from cis_notifications.domain import messages
from cis_notifications.service_layer.bills import Letter, _dumped, deliver_by_bill_rule

KIND = messages.PAST_DUE_NOTICE
NOTICE_REQUESTED = "collections.notice_requested.v1"


def send_past_due_notice(uow, mailer, mail_house: MailHouse, source_message_id: str, notice: dict) -> None:
    """Once per notice (named by its notice id), whatever message carries it again. A relay or print failure
    raises DeliveryFailed: retried, finally dead-lettered."""
    deliver_by_bill_rule(uow, mailer, mail_house, source_message_id, notice["account_id"], KIND,
                         notice["notice_id"], past_due_letter(notice),
                         lambda: {"message_name": NOTICE_REQUESTED, "payload": _dumped(NOTICE_REQUESTED, notice)})


def past_due_letter(notice: dict) -> Callable[[messages.Contact], Letter]:
    def letter(reader: messages.Contact) -> Letter:
        email = messages.past_due_notice(reader, notice, notice_languages())
        return Letter(email, email.subject, KIND, lambda addressee, address: messages.printed_past_due_notice(
            reader, notice, notice_languages(), addressee, address))
    return letter
