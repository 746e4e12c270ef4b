"""Allocation of an account's credits to its charges, oldest first (domain/receivables.py): the facts
billing refuses a late penalty on (issue 9, case 1)."""
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from cis_billing.domain.receivables import Charge, Credit, past_due_on, settled_by, unpaid_on

D = Decimal
BILL = Charge("B1", date(2026, 2, 1), D("64.55"), due_by=date(2026, 2, 22))
NEXT_BILL = Charge("B2", date(2026, 3, 1), D("40.00"), due_by=date(2026, 3, 22))


def test_a_bill_paid_on_its_due_date_is_settled_by_it():
    credits = [Credit(date(2026, 2, 22), D("64.55"))]
    assert settled_by([BILL], credits, "B1", date(2026, 2, 22))
    assert not settled_by([BILL], credits, "B1", date(2026, 2, 21))


def test_a_payment_before_the_bill_was_issued_pays_it():
    assert settled_by([BILL], [Credit(date(2026, 1, 20), D("70.00"))], "B1", date(2026, 2, 22))


def test_credits_go_to_the_oldest_charge_first():
    credits = [Credit(date(2026, 3, 5), D("50.00"))]
    assert unpaid_on([BILL, NEXT_BILL], credits, date(2026, 3, 5)) == {"B1": D("14.55"), "B2": D("40.00")}


def test_a_returned_payment_takes_back_what_it_paid():
    credits = [Credit(date(2026, 2, 1), D("64.55")), Credit(date(2026, 2, 10), D("-64.55"))]
    assert settled_by([BILL], credits, "B1", date(2026, 2, 9))
    assert not settled_by([BILL], credits, "B1", date(2026, 2, 22))


def test_only_bills_past_their_due_date_and_grace_count_as_past_due():
    penalty = Charge("J1", date(2026, 2, 23), D("6.46"))  # no due date: no penalty on a penalty
    charges = [BILL, penalty, NEXT_BILL]
    assert past_due_on(charges, [], date(2026, 2, 22)) == D("0.00")
    assert past_due_on(charges, [], date(2026, 2, 23)) == D("64.55")
    assert past_due_on(charges, [Credit(date(2026, 3, 1), D("20.00"))], date(2026, 3, 24)) == D("84.55")


# --- properties -------------------------------------------------------------------------------

START = date(2026, 1, 1)
days = st.integers(min_value=0, max_value=120).map(lambda n: START + timedelta(days=n))
cents = st.integers(min_value=1, max_value=50_000).map(lambda n: D(n) / 100)
charges = st.lists(st.tuples(days, cents, st.integers(0, 10)), max_size=8).map(lambda drawn: [
    Charge(f"C{i}", on, amount, on + timedelta(days=21 + grace)) for i, (on, amount, grace) in enumerate(drawn)])
credits = st.lists(st.builds(Credit, days, cents), max_size=8)


@settings(max_examples=300, deadline=None)
@given(charges, credits, days)
def test_allocation_loses_no_cent_and_pays_the_oldest_first(charges, credits, day):
    unpaid = unpaid_on(charges, credits, day)
    on_books = sorted((c for c in charges if c.on <= day), key=lambda c: c.on)
    owed = sum((c.amount for c in on_books), D(0))
    received = sum((c.amount for c in credits if c.on <= day), D(0))
    assert sum(unpaid.values(), D(0)) == max(owed - received, D(0))
    assert all(D(0) <= unpaid[c.reference] <= c.amount for c in on_books)
    # once one charge is left unpaid, every later charge is wholly unpaid
    open_from = next((i for i, c in enumerate(on_books) if unpaid[c.reference] > 0), len(on_books))
    assert all(unpaid[c.reference] == c.amount for c in on_books[open_from + 1:])
    assert D(0) <= past_due_on(charges, credits, day) <= sum(unpaid.values(), D(0))


@settings(max_examples=200, deadline=None)
@given(charges, credits, days, st.integers(0, 60))
def test_a_charge_once_settled_stays_settled_without_reversals(charges, credits, day, later):
    for charge in charges:
        if settled_by(charges, credits, charge.reference, day):
            assert settled_by(charges, credits, charge.reference, day + timedelta(days=later))
