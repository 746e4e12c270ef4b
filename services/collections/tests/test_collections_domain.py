"""The collections rules on their own: payment application and the past-due assessment."""
from datetime import date
from decimal import Decimal

from cis_collections.domain.model import AccountView, Receivable, apply_payment, assess


def bill(bill_id, amount, due_on, issued_on=None, paid="0.00", noticed=False):
    return Receivable(bill_id, Decimal(amount), date.fromisoformat(due_on),
                      date.fromisoformat(issued_on or due_on), Decimal(paid), noticed)


def test_a_payment_pays_the_oldest_bill_first():
    march, april = bill("B2", "40.00", "2026-04-23"), bill("B1", "60.00", "2026-03-23")
    applied, leftover = apply_payment([march, april], Decimal("70.00"))
    assert applied == {"B1": Decimal("60.00"), "B2": Decimal("10.00")}
    assert (april.unpaid, march.unpaid, leftover) == (Decimal("0.00"), Decimal("30.00"), Decimal("0.00"))


def test_an_overpayment_is_left_over_as_credit():
    only = bill("B1", "25.00", "2026-03-23", paid="5.00")
    applied, leftover = apply_payment([only], Decimal("50.00"))
    assert applied == {"B1": Decimal("20.00")}
    assert leftover == Decimal("30.00")


def test_a_bill_is_past_due_only_after_its_due_date():
    account = AccountView("A1", [bill("B1", "64.55", "2026-04-23")])
    on_due_date = assess(account, date(2026, 4, 23))
    day_after = assess(account, date(2026, 4, 24))
    assert (on_due_date.status, on_due_date.past_due_amount, on_due_date.reminder_due) == (
        "current", Decimal("0.00"), False)
    assert (day_after.status, day_after.past_due_amount, day_after.reminder_bill_ids) == (
        "delinquent", Decimal("64.55"), ("B1",))
    assert day_after.oldest_due_on == date(2026, 4, 23)


def test_past_due_amount_sums_only_the_unpaid_part_of_bills_already_due():
    account = AccountView("A1", [bill("B1", "60.00", "2026-03-23", paid="45.00"),
                                 bill("B2", "40.00", "2026-04-23"),
                                 bill("B3", "50.00", "2026-05-23")])
    assessment = assess(account, date(2026, 5, 1))
    assert assessment.past_due_amount == Decimal("55.00")
    assert assessment.oldest_due_on == date(2026, 3, 23)


def test_past_due_reminder_is_due_once_per_bill():
    account = AccountView("A1", [bill("B1", "60.00", "2026-03-23", noticed=True),
                                 bill("B2", "40.00", "2026-04-23")])
    assert assess(account, date(2026, 4, 24)).reminder_bill_ids == ("B2",)
    account.receivables[1].past_due_noticed = True
    assessment = assess(account, date(2026, 4, 25))
    assert (assessment.status, assessment.reminder_due) == ("delinquent", False)


def test_a_fully_paid_bill_is_never_past_due():
    account = AccountView("A1", [bill("B1", "60.00", "2026-03-23", paid="60.00")])
    assessment = assess(account, date(2026, 6, 1))
    assert (assessment.status, assessment.past_due_amount, assessment.reminder_due) == (
        "current", Decimal("0.00"), False)
