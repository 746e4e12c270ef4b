"""Late-payment penalties as tariff data, e.g. "10% of current charges + 1% per month of the past-due
balance" (Gov. Code 61115 lets a community services district charge a basic penalty of at most 10%
plus at most 1% a month). Collections decides WHEN a bill is late; this says HOW MUCH.
"""
from dataclasses import dataclass
from decimal import Decimal

from cis_billing.domain.units import to_cents

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PenaltyLine:
    rule: str
    description: str
    base: Decimal      # the balance the percentage is taken of
    percent: Decimal
    months: int
    amount: Decimal


def late_penalties(penalty_rule: dict, current_charges: Decimal, past_due_balance: Decimal,
                   months_past_due: int, waive_interest: bool = False) -> list[PenaltyLine]:
    """Penalty lines for a bill left unpaid past its due date (plus grace days, the caller's check).

    `waive_interest`: the once-in-12-months waiver of interest for low-income households
    (Health & Safety Code 116914) is the caller's to decide; it drops the monthly part.
    """
    lines = []
    basic = penalty_rule.get("percent_of_current", Decimal(0))
    if basic and current_charges > 0:
        lines.append(PenaltyLine("late_penalty", f"Late payment penalty, {basic}% of current charges",
                                 current_charges, basic, 0, to_cents(current_charges * basic / HUNDRED)))
    monthly = penalty_rule.get("monthly_percent_of_past_due", Decimal(0))
    if monthly and past_due_balance > 0 and months_past_due > 0 and not waive_interest:
        lines.append(PenaltyLine("past_due_interest",
                                 f"{monthly}% a month on past-due balance, {months_past_due} month(s)",
                                 past_due_balance, monthly, months_past_due,
                                 to_cents(past_due_balance * monthly * months_past_due / HUNDRED)))
    return lines
