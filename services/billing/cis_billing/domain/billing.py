"""Billing rules that are not the tariff: due dates, identifiers, the ledger's signs."""
from datetime import date, timedelta
from decimal import Decimal

DAYS_TO_PAY = 21
# The longest period one bill run may bill: the District bills monthly or bimonthly; a year covers a
# seasonal or catch-up cycle. Ten years in one bill is a typo.
MAX_RUN_PERIOD_DAYS = 366


def due_date(issued_on: date) -> date:
    return issued_on + timedelta(days=DAYS_TO_PAY)


def cycle_period_gap(start: date, billed: list[tuple[str, date, date]]) -> str | None:
    """Why a cycle may not be billed from `start` given its runs' periods (run_id, start, end), or None:
    consecutive periods tile the calendar, so a period after all the cycle's others starts the day
    after the last one ends, else the days between would never be billed. (A day billed twice is
    refused per account: `overlapping_bill`.)"""
    if not billed or any(other_end >= start for _, _, other_end in billed):
        return None
    last_end, run_id = max((other_end, run_id) for run_id, _, other_end in billed)
    if start == last_end + timedelta(days=1):
        return None
    return (f"must be {last_end + timedelta(days=1)}, the day after the cycle's last period (bill run {run_id}): "
            f"the days between would never be billed")


def run_period_problem(start: date, end: date, today: date) -> str | None:
    """Why a bill run may not bill [start, end] on business date `today` (a problem of period_end), or None."""
    days = (end - start).days + 1
    if days > MAX_RUN_PERIOD_DAYS:
        return f"the period is {days} days; a bill run bills at most {MAX_RUN_PERIOD_DAYS}"
    if end > today:
        return f"is after the business date {today}: days not yet served cannot be billed"
    return None


def overlapping_bill(start: date, end: date, bills: list[tuple[str, date, date]]) -> str | None:
    """Why an account may not be billed for [start, end] given its other bills' periods (bill_id,
    start, end), or None: no day is billed twice."""
    for bill_id, other_start, other_end in bills:
        if (other_start, other_end) == (start, end):
            return "already billed for this period"
        if other_start <= end and start <= other_end:
            return f"already billed for {other_start} to {other_end} (bill {bill_id}): a day would be billed twice"
    return None


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"


def payment_ledger_amount(amount: Decimal) -> Decimal:
    """A payment lowers what the account owes: ledger amounts are signed, bills positive."""
    return -amount
