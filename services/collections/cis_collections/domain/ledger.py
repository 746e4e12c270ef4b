"""Is collections' view of an account's ledger current? Billing owns the ledger; collections decides on money
and notices from the billing events it has applied. Every ledger entry (a bill, a payment, an adjustment) is
announced by exactly one billing event, so a view that applied as many entries as billing holds, and holds the
same balance, is current; anything else is a view collections cannot show is current, and it does not act on it.
"""
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LedgerPosition:
    entries: int       # bills + payments + adjustments
    balance: Decimal   # bills + charges - payments - credits


def stale_reason(applied: LedgerPosition, billing: LedgerPosition | None) -> str | None:
    """Why collections' view (`applied`) is not shown current by billing's position, or None when it is."""
    if billing is None:
        return "billing gave no ledger position for the account"
    if billing.entries != applied.entries:
        return f"billing has {billing.entries} ledger entries, collections applied {applied.entries}"
    if billing.balance != applied.balance:
        return f"billing's balance is {billing.balance}, collections' is {applied.balance}"
    return None
