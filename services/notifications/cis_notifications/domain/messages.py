"""The emails and printed notices the District sends, composed from plain data (no framework, no I/O).

English only for now; SB 998 (H&S 116906) requires the collections policy in English, Spanish,
Chinese, Tagalog, Vietnamese and Korean: translated templates keyed by preferred_language are
later work. Collections notices are also printed (`printed_notice`) for the mail house; bill and
past-due notices are still email only.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
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


COLLECTION_NOTICE_SUBJECTS = {
    "shutoff_notice": "Notice of past-due water bill and scheduled shutoff on $shutoff_on",
    "occupant_notice": "To the Occupant: water service at this address may be shut off on $shutoff_on",
    "tenant_notice": "To the residents: water service may be shut off on $shutoff_on; you may become customers",
    "forty_eight_hour_notice": "48-hour notice: water service may be shut off on $shutoff_on",
    "plan_default_final_notice": "Final notice of intent to disconnect water service on $shutoff_on",
}

COLLECTION_NOTICE_BODY = Template("""\
To: $addressee
$address

Account $account_id has $amount_delinquent past due.
$lead
To avoid the shutoff, pay or arrange to pay by $pay_by.

More time to pay: $extension_process
Bill review and appeal: $bill_review_process
Payment plans: $alternative_payment_process
$tenant_rights
Our policy on discontinuation of residential water service: $policy_url
Questions, or to discuss options to avoid the shutoff: $phone

Customer Service, your water district
""")

COLLECTION_NOTICE_LEADS = {
    "shutoff_notice": "Water service may be shut off on or after $shutoff_on unless the amount is paid or arranged.",
    "occupant_notice": "The account holder's water service at this address may be shut off on or after $shutoff_on.",
    "tenant_notice": "The owner's water account for this address is past due; service may be shut off on or after "
                     "$shutoff_on.",
    "forty_eight_hour_notice": "We could not reach you. Water service may be shut off on or after $shutoff_on, "
                               "at least 48 hours from this notice.",
    "plan_default_final_notice": "The payment plan was not kept for 60 days or more. Water service may be shut "
                                 "off on or after $shutoff_on.",
}
TENANT_RIGHTS = ("Residents may become customers of the District in their own name without paying the amount "
                 "owed on the owner's account (H&S 116916; Gov. Code 60371). Call us to do so.")


def collection_notice(contact: Contact, notice: dict) -> Email:
    """A notice on the way to a shutoff; the request carries every item H&S 116908(a)(1)(C) requires."""
    shutoff_on = _iso(notice["shutoff_on"]) if notice.get("shutoff_on") else "a date we will tell you"
    subject = Template(COLLECTION_NOTICE_SUBJECTS[notice["kind"]]).substitute(shutoff_on=shutoff_on)
    body = COLLECTION_NOTICE_BODY.substitute(
        addressee=notice["addressee"], address=notice["address"], account_id=contact.account_id,
        amount_delinquent=dollars(notice["amount_delinquent"]),
        lead=Template(COLLECTION_NOTICE_LEADS[notice["kind"]]).substitute(shutoff_on=shutoff_on),
        pay_by=_iso(notice["pay_or_arrange_by"]) if notice.get("pay_or_arrange_by") else shutoff_on,
        extension_process=notice["extension_process"], bill_review_process=notice["bill_review_process"],
        alternative_payment_process=notice["alternative_payment_process"],
        tenant_rights=TENANT_RIGHTS if notice["may_become_customer_without_arrears"] else "",
        policy_url=notice["policy_url"], phone=notice["phone"])
    return Email(subject, body)


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"


# --- printed notices (the mailed letter, the door hanger) ------------------------------------------

PRINTED_PAGE = Template("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
  @page { size: letter; margin: 0.75in; }
  body { font-family: Georgia, "Times New Roman", serif; font-size: 12pt; line-height: 1.4; max-width: 7in; }
  .address { margin: 0.5in 0 0.4in; white-space: pre-line; }
  h1 { font-size: 15pt; }
  p { margin: 0 0 0.6em; }
  .cut { border-top: 1px dashed #000; margin-top: 0.4in; padding-top: 0.1in; font-size: 9pt; }
</style>
</head>
<body>
<div class="address">$addressee
$address</div>
<h1>$title</h1>
$paragraphs
<p class="cut">Account $account_id &middot; notice $notice_id &middot; $citation</p>
</body>
</html>
""")


def printed_notice(contact: Contact, notice: dict) -> str:
    """The notice as a self-contained printable page (US letter): the same items as the email, addressed
    to the addressee at the address the request names (the customer, "Occupant", the residents)."""
    email = collection_notice(contact, notice)
    body = email.body.split("\n", 3)[3]  # the email's own "To:" lines are the printed address block
    paragraphs = "\n".join(f"<p>{escape(block, quote=False).replace(chr(10), '<br>')}</p>"
                           for block in body.strip().split("\n\n") if block.strip())
    return PRINTED_PAGE.substitute(
        title=escape(email.subject), addressee=escape(notice["addressee"]), address=escape(notice["address"]),
        paragraphs=paragraphs, account_id=escape(contact.account_id), notice_id=escape(notice["notice_id"]),
        citation=escape(notice["rule"]["citation"]))
