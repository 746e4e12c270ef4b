"""What an account owed on a given day, from billing's own ledger: the facts a late penalty rests on.

The account's credits (payments on the day they were received, credits on the day they were posted)
are allocated to its charges oldest first, as collections applies payments. From that:
"was this bill settled by that day?" (no basic penalty on a bill paid by its due date plus the
tariff's grace days) and "how much was past due on that day?" (the most a monthly penalty may be
taken of). Plain functions over plain values: the caller reads the ledger.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Charge:
    """Something the account owes: a bill, or a positive adjustment (late penalty, fee, debit)."""
    reference: str          # bill_id or adjustment_id
    on: date                # issued (a bill) or posted (an adjustment)
    amount: Decimal         # positive
    # the last day a payment settles it on time (due date + grace days); None: a charge with no due
    # date of its own (a penalty, a fee), never past due for a penalty (no penalty on a penalty)
    due_by: date | None = None


@dataclass(frozen=True)
class Credit:
    """Money the account was given: a payment (on = received), a credit adjustment (on = posted);
    negative for a reversal of money received (a returned payment)."""
    on: date
    amount: Decimal


def unpaid_on(charges: list[Charge], credits: list[Credit], day: date) -> dict[str, Decimal]:
    """What was left of each charge on the books on `day` once the credits dated on or before it
    went to the charges oldest first (in the given order on a tie: pass them in ledger order)."""
    available = max(sum((c.amount for c in credits if c.on <= day), ZERO), ZERO)
    unpaid = {}
    for charge in sorted((c for c in charges if c.on <= day), key=lambda c: c.on):
        paid = min(charge.amount, available)
        available -= paid
        unpaid[charge.reference] = charge.amount - paid
    return unpaid


def settled_by(charges: list[Charge], credits: list[Credit], reference: str, day: date) -> bool:
    """True when nothing of charge `reference` was left unpaid at the end of `day`."""
    return unpaid_on(charges, credits, day).get(reference, ZERO) <= 0 and any(
        c.reference == reference and c.on <= day for c in charges)


def past_due_on(charges: list[Charge], credits: list[Credit], day: date) -> Decimal:
    """The part of the account's bills still unpaid on `day` whose due date and grace days ended before it."""
    unpaid = unpaid_on(charges, credits, day)
    return sum((unpaid[c.reference] for c in charges
                if c.due_by is not None and c.due_by < day and c.reference in unpaid), ZERO)
