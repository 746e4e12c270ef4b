"""Billing rules that are not the tariff: due dates, identifiers, the ledger's signs."""
from datetime import date, timedelta
from decimal import Decimal

DAYS_TO_PAY = 21


def due_date(issued_on: date) -> date:
    return issued_on + timedelta(days=DAYS_TO_PAY)


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"


def payment_ledger_amount(amount: Decimal) -> Decimal:
    """A payment lowers what the account owes: ledger amounts are signed, bills positive."""
    return -amount
