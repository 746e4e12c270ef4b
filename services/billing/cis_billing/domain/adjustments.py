"""Adjustments: corrections and charges posted to the ledger after a bill, never by changing it.

Signs follow the ledger: a charge (a late penalty, a debit) is positive, a credit negative.
"""
from decimal import Decimal

from cis_billing.domain.penalties import PenaltyLine

STAFF_KINDS = ("credit", "debit")


def signed_amount(kind: str, amount: Decimal) -> Decimal:
    """Staff enter a positive amount; the kind gives its sign on the ledger."""
    return -amount if kind == "credit" else amount


def staff_lines(kind: str, amount: Decimal, reason_code: str, note: str) -> list[dict]:
    return [{"description": note, "amount": signed_amount(kind, amount), "rule": reason_code}]


def penalty_lines(lines: list[PenaltyLine]) -> list[dict]:
    """The penalty lines as posted: each names its rule and the balance its percentage was taken of."""
    return [{"description": f"{line.description} ({line.base})", "amount": line.amount, "rule": line.rule}
            for line in lines]


def lines_total(lines: list[dict]) -> Decimal:
    return sum((line["amount"] for line in lines), Decimal("0.00"))
