"""Which bill a true-up re-rates (domain/true_ups.py): pure rules, no database."""
from datetime import date
from decimal import Decimal as D

from cis_billing.domain.engine import Period
from cis_billing.domain.true_ups import EarlierBill, settle

JULY, AUGUST = Period(date(2026, 7, 1), date(2026, 7, 31)), Period(date(2026, 8, 1), date(2026, 8, 31))


def bills(july="10", august="3"):
    return [EarlierBill("B-JUL", JULY, D(july)), EarlierBill("B-AUG", AUGUST, D(august))]


def test_an_under_estimate_re_rates_the_estimated_bill_not_this_period():
    earlier = bills()
    use, reratings = settle([(date(2026, 8, 31), D("2"))], D("5"), earlier)
    assert use == D("5")
    assert [(r.bill.bill_id, r.billed, r.corrected) for r in reratings] == [("B-AUG", D("3"), D("5"))]
    assert earlier[1].usage == D("5")  # a later true-up of August starts from what is billed now


def test_an_over_estimate_beyond_the_estimated_bill_goes_on_to_the_bills_before_it_newest_first():
    """Consecutive estimates: August billed 3 HCF from July's estimate to its own; 5 HCF too many."""
    use, reratings = settle([(date(2026, 8, 31), D("-5"))], D("4"), bills())
    assert use == D("4")
    assert [(r.bill.bill_id, r.billed, r.corrected) for r in reratings] == [("B-AUG", D("3"), D("0")),
                                                                           ("B-JUL", D("10"), D("8"))]


def test_a_credit_no_bill_of_the_account_billed_nets_this_period_and_the_rest_is_credited_from_zero():
    use, reratings = settle([(date(2026, 8, 31), D("-6"))], D("2"), [])
    assert use == D("0")
    assert [(r.bill, r.billed, r.corrected) for r in reratings] == [(None, D("4"), D("0"))]
    use, reratings = settle([(date(2026, 8, 31), D("3"))], D("2"), [])
    assert (use, reratings) == (D("5"), [])


def test_a_difference_is_re_rated_in_whole_units_and_its_fraction_stays_with_this_periods_use():
    """Whole-HCF billing (multifamily truncates): an interpolated true value 1010.33 after an estimate of
    1000 and an end read of 1050 is 10.33 re-rated + 39.67 used; truncated separately 10 + 39 of 50."""
    use, reratings = settle([(date(2026, 8, 31), D("10.33"))], D("39.67"), bills(), D("1"))
    assert use == D("40.00")
    assert [(r.billed, r.corrected) for r in reratings] == [(D("3"), D("13"))]
    use, reratings = settle([(date(2026, 8, 31), D("-3.67"))], D("0.5"), bills(august="0"), D("1"))
    assert (use, [(r.bill.bill_id if r.bill else None, r.billed, r.corrected) for r in reratings]) == (
        D("0"), [("B-JUL", D("10"), D("7")), (None, D("0.17"), D("0"))])


def test_rounding_at_the_boundaries_telescopes_through_a_true_up():
    """Whole HCF truncated: an estimate of 121 whose true value was 117.56, the period ending at 142. The
    period bills 142 - 117 = 25 and the true-up 117 - 121 = -4: 21 in all, the register's 142 - 121."""
    from cis_billing.domain.tariff_document import Rounding
    from cis_billing.domain.true_ups import rounded_at_the_boundaries

    whole = Rounding(D("1"), "down")
    assert rounded_at_the_boundaries(D("24.44"), D("117.56"), D("142"), [D("-3.44")], whole) == (D("25"), D("-4"))
    assert rounded_at_the_boundaries(D("268.5"), D("1779"), D("2047.5"), [], whole) == (D("268"), D("0"))
    assert rounded_at_the_boundaries(D("24.44"), D("117.56"), D("142"), [D("-3.44")], None) == (D("24.44"), D("-3.44"))
