"""Billing a true-up: an earlier bill's estimate corrected by actual reads (docs/tariffs.md "True-ups").

Bills are immutable: a correction is lines on the bill being issued, never an edit of the old one.
The rule (one for charges and credits):
- An estimate that was too low (a positive difference) re-rates the estimated bill with the true
  usage; the difference of every charge is a line on this bill, at the estimated period's rates.
- An estimate that was too high (a negative difference) is credited at the price it was billed at:
  the estimated bill re-rated with its usage less the over-billed units (the last, highest-priced
  units of that bill, as the estimate added them). A credit larger than that bill's usage goes on to
  the account's bills before it (consecutive estimates), newest first, each down to zero use.
- What no bill of the account billed (the estimate was on another bill, or there is no bill) is
  netted with this period's use, as far as it goes, at this period's rates; a credit beyond this
  period's use is priced as this period's first units. So a period is never left unbilled for a
  credit, and every unit measured is billed once: this period's use plus the differences.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cis_billing.domain.engine import USAGE_RULES, Account, BillPlan, Determinants, Line, Period
from cis_billing.domain.units import convert, round_to

ZERO = Decimal(0)


@dataclass
class EarlierBill:
    """One of the account's earlier bills, as a true-up sees it."""
    bill_id: str
    period: Period   # its days of service
    usage: Decimal   # HCF billed for that period so far: its own usage lines and earlier true-ups of it


@dataclass(frozen=True)
class Rerating:
    """Re-rate `bill` from `billed` to `corrected` HCF (bill None: this period, priced from zero)."""
    bill: EarlierBill | None
    billed: Decimal
    corrected: Decimal


def settle(differences: list[tuple[date, Decimal]], use: Decimal, earlier: list[EarlierBill],
           increment: Decimal = Decimal("0.0001")) -> tuple[Decimal, list[Rerating]]:
    """This period's usage to bill and the re-ratings of earlier bills, for true-ups given as
    (the estimated period's last day, difference in HCF). `earlier` is updated as bills are re-rated.

    A difference is re-rated in whole billing increments (a tariff billing whole HCF, truncated,
    would drop the fraction of each part); its fraction stays with this period's use, which with
    it is again the register's advance from the estimate (an interpolated true value 1010.33
    between whole readings: 10.33 + 39.67 billed as 10 + 39 lost a unit, 10 + 40 does not)."""
    reratings = []
    newest_first = sorted(earlier, key=lambda b: b.period.end, reverse=True)
    for last_day, exact in differences:
        difference = round_to(exact, increment, "down")
        use += exact - difference
        if difference > 0:
            bill = next((b for b in newest_first if b.period.end == last_day), None)
            if bill is None:
                use += difference
            else:
                reratings.append(Rerating(bill, bill.usage, bill.usage + difference))
                bill.usage += difference
            continue
        credit = -difference
        for bill in (b for b in newest_first if b.period.end <= last_day):
            if credit == 0:
                break
            take = min(credit, bill.usage)
            if take > 0:
                reratings.append(Rerating(bill, bill.usage, bill.usage - take))
                bill.usage -= take
                credit -= take
        netted = min(credit, max(use, ZERO))
        use -= netted
        credit -= netted
        if credit > 0:
            reratings.append(Rerating(None, credit, ZERO))
    if use < 0:  # a credit's fraction beyond the period's use
        reratings.append(Rerating(None, -use, ZERO))
        use = ZERO
    return use, reratings


def rounded_at_the_boundaries(consumption: Decimal, start_read: Decimal, end_read: Decimal, true_ups: list[Decimal],
                              rounding) -> tuple[Decimal, Decimal]:
    """(this period's use, the true-ups' difference) with the tariff's consumption rounding applied to the
    period's boundary readings, not to their difference, so whole-unit billing telescopes across periods:
    what one period's rounding leaves is billed by the next (docs/tariffs.md "Rounding consumption").

    An end read interpolated to 2047.50 between whole-HCF readings, on a tariff billing whole HCF truncated:
    268.5 and 263.5 billed as 268 + 263 lost a unit; rounded at the boundary they are 268 + 264. A period
    starting from a true-up's true value (start_read) corrects an estimate that was start_read - difference."""
    difference = sum(true_ups, ZERO)
    if rounding is None:
        return consumption, difference

    def at(reading: Decimal) -> Decimal:
        return round_to(reading, rounding.increment, rounding.mode)

    # what the period's use holds beyond its two readings (a meter exchanged in the period) is kept as it is
    use = at(end_read) - at(start_read) + (consumption - (end_read - start_read))
    return use, (at(start_read) - at(start_read - difference) if difference else ZERO)


def correction_lines(plan: BillPlan, account: Account, rerating: Rerating, label: str,
                     true_up_of: str) -> list[Line]:
    """Per charge, what re-rating changes: (lines at the corrected usage) - (lines at the billed usage),
    each line saying which bill (or estimate) it corrects."""
    before = plan.lines(account, Determinants(rerating.billed, "HCF"))
    after = plan.lines(account, Determinants(rerating.corrected, "HCF"))
    old = {_key(line): line for line in before}
    new = {_key(line): line for line in after}
    lines = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        quantity = (now.quantity if now else ZERO) - (was.quantity if was else ZERO)
        amount = (now.amount if now else ZERO) - (was.amount if was else ZERO)
        if quantity == 0 and amount == 0:
            continue
        shown = now or was
        lines.append(shown._replace(quantity=quantity, amount=amount, description=f"{label}: {shown.description}",
                                    true_up_of=true_up_of))
    return lines


def _key(line: Line) -> tuple:
    return line.tariff, line.charge, line.description, line.tier_from, line.tier_to, line.days, line.unit


def usage_hcf(lines) -> Decimal:
    """HCF on usage lines given as (rule, quantity, unit), whatever unit a charge bills in."""
    return sum((convert(quantity, unit, "HCF") for rule, quantity, unit in lines if rule in USAGE_RULES), ZERO)
