"""Why billing's ledger balance and collections' past-due amount differ, said in one line. Plain Python.

Each figure has its owner: billing's balance is every charge less payments and credits; collections'
past due is what is unpaid after its due date, on collections' business date. The gateway decides
nothing on them. It restates collections' reading of billing's ledger (payments and credits pay the
oldest charge first; a bill is past due the day after its due date; a debit adjustment is owed from
the day it is posted) only to tell staff what the difference is made of.
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")
CHARGES_NAMED = 3  # a longer list would not fit the one line


@dataclass(frozen=True)
class Charge:
    reference: str  # the bill or adjustment id
    amount: Decimal
    due_on: date


@dataclass(frozen=True)
class OpenCharge:
    charge: Charge
    unpaid: Decimal


def money(amount: Decimal) -> str:
    """$1,234.50, or -$10.00 for a credit."""
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def charges_of(statement: dict) -> list[Charge]:
    bills = [Charge(b["bill_id"], Decimal(b["total"]), date.fromisoformat(b["due_on"]))
             for b in statement.get("bills") or []]
    debits = [Charge(a["adjustment_id"], Decimal(a["amount"]), date.fromisoformat(a["posted_on"]))
              for a in statement.get("adjustments") or [] if Decimal(a["amount"]) > 0]
    return bills + debits


def credits_of(statement: dict) -> Decimal:
    payments = sum((Decimal(p["amount"]) for p in statement.get("payments") or []), ZERO)
    credits = sum((-Decimal(a["amount"]) for a in statement.get("adjustments") or []
                   if Decimal(a["amount"]) < 0), ZERO)
    return payments + credits


def open_charges(statement: dict) -> list[OpenCharge]:
    """Each charge with what is left unpaid once payments and credits paid the oldest first."""
    remaining = credits_of(statement)
    open_ = []
    for charge in sorted(charges_of(statement), key=lambda c: (c.due_on, c.reference)):
        paid = min(max(remaining, ZERO), charge.amount)
        remaining -= paid
        if charge.amount - paid > 0:
            open_.append(OpenCharge(charge, charge.amount - paid))
    return open_


def unapplied_credit(statement: dict) -> Decimal:
    """Payments and credits beyond every charge (a credit balance)."""
    return max(credits_of(statement) - sum((c.amount for c in charges_of(statement)), ZERO), ZERO)


def difference_explained(statement: dict, balance: Decimal, past_due: Decimal, past_due_as_of: date) -> str | None:
    """One line saying why `balance` (billing) and `past_due` (collections, on `past_due_as_of`) differ;
    None when they agree."""
    if balance == past_due:
        return None
    open_ = open_charges(statement)
    if sum((c.unpaid for c in open_), ZERO) - unapplied_credit(statement) != balance:
        return f"They differ by {money(balance - past_due)}."  # a ledger this page cannot restate: no guess
    not_yet_due = [c for c in open_ if c.charge.due_on >= past_due_as_of]
    not_yet_due_total = sum((c.unpaid for c in not_yet_due), ZERO)
    past_due_on_ledger = sum((c.unpaid for c in open_ if c.charge.due_on < past_due_as_of), ZERO)
    parts = []
    if balance < 0:
        parts.append(f"the balance is a credit of {money(-balance)} (paid ahead)")
    if not_yet_due_total:
        parts.append(f"the balance includes {money(not_yet_due_total)} not yet due ({charges_named(not_yet_due)})")
    unexplained = past_due_on_ledger - past_due
    if unexplained:
        parts.append(f"{money(abs(unexplained))} is not explained by due dates: collections may not yet have "
                     "applied billing's latest payment, bill or adjustment")
    line = "; ".join(parts) or f"they differ by {money(balance - past_due)}"
    return line[0].upper() + line[1:] + "."


def charges_named(charges: list[OpenCharge]) -> str:
    named = [f"{c.charge.reference} due {c.charge.due_on.isoformat()}" for c in charges[:CHARGES_NAMED]]
    more = len(charges) - CHARGES_NAMED
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")
