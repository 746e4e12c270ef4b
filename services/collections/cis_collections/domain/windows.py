"""Gov. Code 60372(c): the windows in which a customer's requests earn a review by a review manager.

"Any residential customer who has initiated a complaint or requested an investigation within five
days of receiving the disputed bill, or who has, within 13 days of mailing of the notice required by
subdivision (a), made a request for extension of the payment period ... shall be given an
opportunity for review" (text read from public copies of Gov. Code 60372; Pub. Util. Code 12823(c)
has the same words). A bill is taken as received 5 days after it was mailed, the allowance Gov. Code
60373 gives a mailed notice **(confirm)**: a dispute is in time up to 10 days after the bill's mailing.
Requests outside the windows are refused, the error naming the field and the section.
"""
from datetime import date, timedelta

from cis_collections.domain import rules

RECEIPT_DAYS_AFTER_MAILING = 5   # as Gov. Code 60373 counts a mailed notice
DISPUTE_DAYS_AFTER_RECEIPT = 5   # Gov. Code 60372(c)
EXTENSION_DAYS_AFTER_NOTICE = 13  # Gov. Code 60372(c)
RULE = rules.GOV_60372C_REQUEST_WINDOWS


def last_day_to_dispute(bill_mailed_on: date) -> date:
    return bill_mailed_on + timedelta(days=RECEIPT_DAYS_AFTER_MAILING + DISPUTE_DAYS_AFTER_RECEIPT)


def dispute_problem(bills_mailed_on: list[date], filed_on: date) -> str | None:
    """Why a dispute filed on `filed_on` is out of time, or None. Any bill mailed before it may be disputed
    while its window is open; the latest bill has the latest window."""
    mailed = [day for day in bills_mailed_on if day <= filed_on]
    if not mailed:
        return f"No bill was mailed on or before {filed_on} to dispute ({RULE.citation})."
    last_day = last_day_to_dispute(max(mailed))
    if filed_on > last_day:
        return (f"A dispute must be made within {DISPUTE_DAYS_AFTER_RECEIPT} days of receiving the bill "
                f"({RULE.citation}): the last bill was mailed {max(mailed)}, so the last day was {last_day}; "
                f"filed {filed_on}. Record it as an appeal under the District's policy if it is one.")
    return None


def extension_problem(notice_mailed_on: date | None, requested_on: date, what: str) -> str | None:
    """Why a request for more time (an extension, or a plan instead of paying in full) made on `requested_on`
    is out of time, or None. Before any shutoff notice is mailed there is no window to miss."""
    if notice_mailed_on is None:
        return None
    last_day = notice_mailed_on + timedelta(days=EXTENSION_DAYS_AFTER_NOTICE)
    if requested_on > last_day:
        return (f"A request for {what} must be made within {EXTENSION_DAYS_AFTER_NOTICE} days of the mailing of "
                f"the shutoff notice ({RULE.citation}): mailed {notice_mailed_on}, so the last day was "
                f"{last_day}; requested {requested_on}.")
    return None
