"""Collections domain: open receivables, payment application and the daily past-due assessment.

Plain objects and rules, no framework. "Delinquent" here means "has a bill past its due date";
the statutory timeline (60 days before any discontinuation, notice periods, protections) is the
collections engine in engine.py.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")
CURRENT = "current"
DELINQUENT = "delinquent"
DELIVERED_ON_ISSUE = date.min  # a Receivable built without delivered_on was delivered the day it was issued


@dataclass
class Receivable:
    """What one bill asks the customer to pay, and how much of it has been paid."""
    bill_id: str
    amount: Decimal
    due_on: date
    issued_on: date
    paid: Decimal = ZERO
    past_due_noticed: bool = False  # a past-due notice has been requested for this bill
    delivered_on: date | None = DELIVERED_ON_ISSUE  # None: never delivered to the customer

    def __post_init__(self):
        if self.delivered_on == DELIVERED_ON_ISSUE:
            self.delivered_on = self.issued_on

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid

    def is_past_due(self, today: date) -> bool:
        """Past due the day after its due date, while anything is unpaid - once the customer got the bill."""
        return self.unpaid > 0 and self.due_on < today and self.delivered_on is not None \
            and self.delivered_on <= today


@dataclass
class AccountView:
    account_id: str
    receivables: list[Receivable] = field(default_factory=list)
    credit: Decimal = ZERO  # payments not yet matched to a bill (overpayment, or paid before billed)
    status: str = CURRENT
    delinquent_since: date | None = None


@dataclass(frozen=True)
class Assessment:
    status: str
    past_due_amount: Decimal
    reminder_bill_ids: tuple[str, ...]  # past-due bills no notice was requested for yet
    oldest_due_on: date | None

    @property
    def reminder_due(self) -> bool:
        return bool(self.reminder_bill_ids)


def oldest_first(receivables: list[Receivable]) -> list[Receivable]:
    return sorted(receivables, key=lambda r: (r.due_on, r.issued_on, r.bill_id))


def apply_payment(receivables: list[Receivable], amount: Decimal) -> tuple[dict[str, Decimal], Decimal]:
    """Apply `amount` to the unpaid bills, oldest first (so the oldest debt clears first).

    Mutates the receivables' `paid`; returns ({bill_id: amount applied}, amount left over).
    """
    applied: dict[str, Decimal] = {}
    remaining = amount
    for receivable in oldest_first(receivables):
        if remaining <= 0:
            break
        portion = min(receivable.unpaid, remaining)
        if portion > 0:
            receivable.paid += portion
            applied[receivable.bill_id] = portion
            remaining -= portion
    return applied, remaining


def assess(account: AccountView, today: date) -> Assessment:
    """The account's standing on `today`: past-due amount, status and which bills need a reminder."""
    past_due = [r for r in oldest_first(account.receivables) if r.is_past_due(today)]
    amount = sum((r.unpaid for r in past_due), ZERO)
    return Assessment(
        status=DELINQUENT if past_due else CURRENT,
        past_due_amount=amount,
        reminder_bill_ids=tuple(r.bill_id for r in past_due if not r.past_due_noticed),
        oldest_due_on=past_due[0].due_on if past_due else None,
    )


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"
