"""The emails the District sends, composed from plain data (no framework, no I/O).

English only for now; SB 998 (H&S 116906) requires the collections policy in English, Spanish,
Chinese, Tagalog, Vietnamese and Korean: translated templates keyed by preferred_language are
later work, as is the mailed letter for customers without an email address.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from string import Template

BILL_NOTICE = "bill_notice"
PAST_DUE_NOTICE = "past_due_notice"


@dataclass(frozen=True)
class Contact:
    account_id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


BILL_BODY = Template("""\
Dear $name,

Your water bill $bill_id for account $account_id is ready.

Service period: $period_start to $period_end
$lines
Total this bill: $total
Amount due: $balance_due
Please pay by: $due_on

Thank you,
Customer Service, your water district
""")

PAST_DUE_BODY = Template("""\
Dear $name,

Our records show $amount_past_due past due on account $account_id.
The oldest unpaid bill was due on $oldest_due_on.

Please pay the past-due amount, or call us to arrange a payment plan or to ask for a review
of your bill. If you have already paid, thank you, and please disregard this notice.

Customer Service, your water district
""")


def dollars(amount: Decimal) -> str:
    return f"${Decimal(amount):,.2f}"


def bill_notice(contact: Contact, bill: dict) -> Email:
    lines = "\n".join(f"  {line['description']}: {dollars(line['amount'])}" for line in bill["lines"])
    subject = f"Your water bill {bill['bill_id']}: {dollars(bill['balance_due'])} due {_iso(bill['due_on'])}"
    body = BILL_BODY.substitute(
        name=contact.name, bill_id=bill["bill_id"], account_id=contact.account_id,
        period_start=_iso(bill["period_start"]), period_end=_iso(bill["period_end"]), lines=lines,
        total=dollars(bill["total"]), balance_due=dollars(bill["balance_due"]), due_on=_iso(bill["due_on"]))
    return Email(subject, body)


def past_due_notice(contact: Contact, notice: dict) -> Email:
    amount = dollars(notice["amount_past_due"])
    subject = f"Past-due notice: {amount} past due on account {contact.account_id}"
    body = PAST_DUE_BODY.substitute(name=contact.name, amount_past_due=amount, account_id=contact.account_id,
                                    oldest_due_on=_iso(notice["oldest_due_on"]))
    return Email(subject, body)


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"
