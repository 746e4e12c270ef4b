"""The emails and printed notices the District sends, composed from plain data (no framework, no I/O).

Collections and past-due notices are written from the texts of the reader's language (domain/languages.py,
data/notice_languages; H&S 116906(a)); the bill notice is English only. Collections notices are also
printed (`printed_notice`) for the mail house, and so is every bill and past-due reminder not sent paperless
(`printed_bill`, `printed_past_due_notice`).
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from string import Template
import uuid

from cis_notifications.domain.languages import NoticeLanguages

BILL_NOTICE = "bill_notice"
PAST_DUE_NOTICE = "past_due_notice"


@dataclass(frozen=True)
class Contact:
    account_id: str
    name: str
    email: str | None
    language: str = "en"  # the customer's preferred_language (accounts.account_opened.v1)


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    language: str = "en"  # the language the notice is written in


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


def past_due_notice(contact: Contact, notice: dict, texts: NoticeLanguages) -> Email:
    language, _ = texts.for_reader(contact.language)
    amount = dollars(notice["amount_past_due"])
    subject = Template(language.past_due_subject).substitute(amount_past_due=amount, account_id=contact.account_id)
    body = Template(language.past_due_body).substitute(
        name=contact.name, amount_past_due=amount, account_id=contact.account_id,
        oldest_due_on=_iso(notice["oldest_due_on"]))
    return Email(subject, body, language.code)


# The notices addressed to the customer are in the customer's language; the Occupant copy and the tenant
# notice reach people whose language the District does not know: English with the multilingual line.
TO_THE_CUSTOMER = ("shutoff_notice", "forty_eight_hour_notice", "plan_default_final_notice")


def collection_notice(contact: Contact, notice: dict, texts: NoticeLanguages) -> Email:
    """A notice on the way to a shutoff; the request carries every item H&S 116908(a)(1)(C) requires. In the
    reader's language where there is a template (H&S 116906(a)), else in English with a line in every
    statutory language saying how to get it in theirs."""
    language, readers_own = texts.for_reader(contact.language if notice["kind"] in TO_THE_CUSTOMER else None)
    shutoff_on = _iso(notice["shutoff_on"]) if notice.get("shutoff_on") else language.shutoff_date_unknown
    policy = {name: language.policy_text(notice[name]) for name in POLICY_TEXTS}
    subject = Template(language.collection_subjects[notice["kind"]]).substitute(shutoff_on=shutoff_on)
    body = Template(language.collection_body).substitute(
        addressee=notice["addressee"], address=notice["address"], account_id=contact.account_id,
        amount_delinquent=dollars(notice["amount_delinquent"]),
        lead=Template(language.collection_leads[notice["kind"]]).substitute(shutoff_on=shutoff_on),
        pay_by=_iso(notice["pay_or_arrange_by"]) if notice.get("pay_or_arrange_by") else shutoff_on,
        tenant_rights=language.tenant_rights if notice["may_become_customer_without_arrears"] else "",
        policy_url=notice["policy_url"], phone=notice["phone"], **{name: text for name, (text, _) in policy.items()})
    if not readers_own or not all(translated for _, translated in policy.values()):
        body += "\n" + texts.multilingual_line(notice["phone"]) + "\n"
    return Email(subject, body, language.code)


POLICY_TEXTS = ("extension_process", "bill_review_process", "alternative_payment_process")


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"


# --- printed notices (the mailed letter, the door hanger) ------------------------------------------

PRINTED_PAGE = Template("""\
<!DOCTYPE html>
<html lang="$lang">
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
<p class="cut">Account $account_id &middot; notice $notice_id &middot; $footer</p>
</body>
</html>
""")


def printed_notice(contact: Contact, notice: dict, texts: NoticeLanguages) -> str:
    """The notice as a self-contained printable page (US letter): the same items as the email, addressed
    to the addressee at the address the request names (the customer, "Occupant", the residents)."""
    email = collection_notice(contact, notice, texts)
    body = email.body.split("\n", 3)[3]  # the email's own "To:" lines are the printed address block
    return _printed_page(email, body, contact, notice, notice["addressee"], notice["address"],
                         notice["rule"]["citation"])


def printed_past_due_notice(contact: Contact, notice: dict, texts: NoticeLanguages, addressee: str,
                            address: str) -> str:
    """The past-due reminder as a printable page (US letter), in the reader's language like its email, addressed
    to the customer at the address bills go to. No statutory notice: its foot names the amount, not a section."""
    email = past_due_notice(contact, notice, texts)
    return _printed_page(email, email.body, contact, notice, addressee, address,
                         f"{dollars(notice['amount_past_due'])} past due")


def _printed_page(email: Email, body: str, contact: Contact, notice: dict, addressee: str, address: str,
                  footer: str) -> str:
    paragraphs = "\n".join(f"<p>{escape(block, quote=False).replace(chr(10), '<br>')}</p>"
                           for block in body.strip().split("\n\n") if block.strip())
    return PRINTED_PAGE.substitute(
        lang=escape(email.language), title=escape(email.subject), addressee=escape(addressee),
        address=escape(address), paragraphs=paragraphs, account_id=escape(contact.account_id),
        notice_id=escape(notice["notice_id"]), footer=escape(footer))


PRINTED_BILL = Template("""\
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
  table { border-collapse: collapse; width: 100%; margin: 0.2in 0; }
  td { padding: 2pt 4pt; } td.amount { text-align: right; }
  tr.total td { border-top: 1px solid #000; font-weight: bold; }
  .cut { border-top: 1px dashed #000; margin-top: 0.4in; padding-top: 0.1in; font-size: 9pt; }
</style>
</head>
<body>
<div class="address">$addressee
$address</div>
<h1>$title</h1>
<p>Account $account_id &middot; service period $period_start to $period_end &middot; issued $issued_on</p>
<table>
$rows
<tr class="total"><td>Total this bill</td><td class="amount">$total</td></tr>
<tr class="total"><td>Amount due</td><td class="amount">$balance_due</td></tr>
</table>
<p>Please pay by <strong>$due_on</strong>.</p>
<p class="cut">Return this part with your payment &middot; account $account_id &middot; bill $bill_id &middot;
amount due $balance_due</p>
</body>
</html>
""")


def printed_bill(contact: Contact, bill: dict, addressee: str, address: str) -> str:
    """The bill as a self-contained printable page (US letter) for the mail house: the same items as the
    e-bill, addressed to the customer at the address bills go to."""
    rows = "\n".join(f'<tr><td>{escape(line["description"], quote=False)}</td>'
                     f'<td class="amount">{dollars(line["amount"])}</td></tr>' for line in bill["lines"])
    return PRINTED_BILL.substitute(
        title=escape(f"Your water bill {bill['bill_id']}"), addressee=escape(addressee), address=escape(address),
        account_id=escape(contact.account_id), bill_id=escape(bill["bill_id"]),
        period_start=_iso(bill["period_start"]), period_end=_iso(bill["period_end"]), issued_on=_iso(bill["issued_on"]),
        rows=rows, total=dollars(bill["total"]), balance_due=dollars(bill["balance_due"]), due_on=_iso(bill["due_on"]))


MESSAGE_ID_NAMESPACE = uuid.UUID("6f1d2c7e-3b9a-5e41-9c2d-16a0c1e5b7f3")  # fixed for ever: ids must not change


def message_id(source_message_id: str, kind: str, channel: str, domain: str) -> str:
    """The RFC 5322 Message-ID of the email a fact produces: the same fact always gives the same id (uuid5 of
    source message, kind and channel), so an email resent after a crash carries the id of the first one and
    the receiving side can tell it is the same message."""
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, f'{source_message_id}/{kind}/{channel}')}@{domain}>"
