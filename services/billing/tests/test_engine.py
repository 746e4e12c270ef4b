"""The tariff engine: the issue's three worked examples to the cent, every charge kind, and properties."""
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cis_billing.domain.engine import Account, CannotBill, Determinants, Period, bill_total, calculate, split_by_days
from cis_billing.domain.penalties import late_penalties
from cis_billing.domain.tariff_document import parse_tariff

SIZES = ["5/8", "3/4", "1"]
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


def tariff(charges, **fields):
    document = {"tariff_id": "t", "version": 1, "effective_from": "2025-07-01", "adopted_by": "Resolution 1",
                "customer_classes": ["residential"], "meter_sizes": SIZES, "charges": charges}
    document.update(fields)
    return parse_tariff(document)


def bill(tariffs, hcf, account=None, period=MARCH, **determinants):
    account = account or Account("residential", "5/8")
    return calculate(tariffs if isinstance(tariffs, list) else [tariffs], account,
                     Determinants(D(hcf), **determinants), period)


FIXED = {"rule": "fixed_by_meter_size", "description": 'Service charge, {meter_size}" meter',
         "rates": {"5/8": "20.75", "3/4": "31.13", "1": "51.88"}}


# --- the examples -------------------------------------------------------------------

def test_example_1_tier_width_per_dwelling_unit_two_units_using_12_hcf_pay_74_63():
    t = tariff([FIXED, {"rule": "tiered", "description": "Water", "tier_width": {"per_dwelling_unit": True},
                        "tiers": [{"upto": "4", "rate": "3.65"}, {"rate": "6.17"}]}])
    lines = bill(t, "12", Account("residential", "5/8", dwelling_units=2))
    assert [(l.quantity, l.rate, l.amount, l.tier_from, l.tier_to) for l in lines] == [
        (D(1), D("20.75"), D("20.75"), None, None),
        (D(8), D("3.65"), D("29.20"), D(0), D(8)),
        (D(4), D("6.17"), D("24.68"), D(8), None)]
    assert bill_total(lines) == D("74.63")


def test_example_2_rate_change_on_july_1_splits_fixed_by_days_and_usage_in_proportion_to_days():
    def version(n, start, daily, per_hcf):
        return tariff([{"rule": "fixed_by_meter_size", "per": "day", "rates": {s: daily for s in SIZES}},
                       {"rule": "volumetric", "rate": per_hcf}], version=n, effective_from=start)
    tariffs = [version(1, "2026-01-01", "0.80", "2.00"), version(2, "2026-07-01", "0.85", "2.20")]
    # reads on June 15 and July 15: the period is June 15 - July 14, 16 days in June and 14 in July
    lines = bill(tariffs, "30", period=Period(date(2026, 6, 15), date(2026, 7, 14)))
    assert [(l.tariff, l.rule, l.quantity, l.rate, l.amount, l.days) for l in lines] == [
        ("t@1", "fixed_by_meter_size", D(16), D("0.80"), D("12.80"), 16),
        ("t@1", "volumetric", D(16), D("2.00"), D("32.00"), 16),
        ("t@2", "fixed_by_meter_size", D(14), D("0.85"), D("11.90"), 14),
        ("t@2", "volumetric", D(14), D("2.20"), D("30.80"), 14)]
    assert bill_total(lines) == D("87.50")


def test_example_3_budget_based_tiers_20_hcf_budget_30_hcf_used_pay_84_00():
    t = tariff([{"rule": "budget_tiered", "description": "Water", "tiers": [
        {"upto_percent": "40", "rate": "1.50"}, {"upto_percent": "100", "rate": "2.00"},
        {"upto_percent": "140", "rate": "4.00"}, {"rate": "8.00"}]}])
    lines = bill(t, "30", Account("residential", "5/8", budget_variance=D(20)))
    assert [(l.quantity, l.amount) for l in lines] == [
        (D(8), D("12.00")), (D(12), D("24.00")), (D(8), D("32.00")), (D(2), D("16.00"))]
    assert bill_total(lines) == D("84.00")


# --- charge kinds ---------------------------------------------------------------------------

def test_water_budget_is_residents_x_gpcd_x_days_plus_area_x_et_x_plant_factor_x_conversion():
    t = tariff([{"rule": "budget_tiered", "unit": "gallons", "budget": {
        "gallons_per_person_per_day": "50", "plant_factor": "0.7", "conversion": "0.62"},
        "tiers": [{"upto_percent": "100", "rate": "0.01"}, {"rate": "0.02"}]}])
    account = Account("residential", "5/8", residents=4, landscape_area_sqft=D(1000))
    # 4 x 50 x 31 = 6200 gal indoor; 1000 x 3 in x 0.7 x 0.62 = 1302 gal outdoor: budget 7502 gal
    lines = bill(t, str(D(8000) / D("748.052")), account, et_inches=D(3))
    assert [(l.tier_to, l.quantity.quantize(D("0.001"))) for l in lines] == [(D("7502.00"), D("7502.000")),
                                                                              (None, D("498.000"))]


def test_a_budget_tariff_for_an_account_without_budget_data_cannot_bill():
    t = tariff([{"rule": "budget_tiered", "tiers": [{"upto_percent": "100", "rate": "1"}, {"rate": "2"}]}])
    with pytest.raises(CannotBill, match="no water budget"):
        bill(t, "5")


def test_meter_equivalent_ratios_from_the_pleasanton_table_price_a_3_inch_meter_at_17_5_times_base():
    t = tariff([{"rule": "fixed_by_meter_ratio", "base": "20.00", "ratios": "pleasanton"}],
               meter_sizes=["5/8", "3"])
    assert bill(t, "0", Account("residential", "3"))[0].amount == D("350.00")
    awwa = tariff([{"rule": "fixed_by_meter_ratio", "base": "20.00", "ratios": "awwa"}], meter_sizes=["3"])
    assert bill(awwa, "0", Account("residential", "3"))[0].amount == D("320.00")


def test_monthly_fixed_charge_is_prorated_by_actual_days_on_an_opening_bill():
    t = tariff([FIXED])
    [line] = bill(t, "0", period=Period(date(2026, 3, 17), date(2026, 3, 31)))
    assert (line.amount, line.days, line.proration) == (D("10.04"), 15, "15/31 days")  # 20.75 x 15/31 = 10.040


def test_monthly_fixed_charge_on_a_30_day_month_basis():
    t = tariff([FIXED], proration_basis="30_day_month")
    [line] = bill(t, "0", period=Period(date(2026, 3, 17), date(2026, 3, 31)))
    assert (line.amount, line.proration) == (D("10.38"), "15/30 days")  # 20.75 x 0.5 = 10.375 -> 10.38


def test_tier_thresholds_stated_per_year_scale_to_the_days_billed_with_the_adopted_rounding():
    t = tariff([{"rule": "tiered", "tier_width": {"per_days": "annual", "rounding": {"increment": "1",
                                                                                    "mode": "half_up"}},
                 "tiers": [{"upto": "120", "rate": "3"}, {"rate": "5"}]}])
    lines = bill(t, "20", period=Period(date(2026, 3, 1), date(2026, 3, 31)))
    # 120 / 365 x 31 = 10.19 -> 10 HCF in tier 1
    assert [(l.quantity, l.tier_to) for l in lines] == [(D(10), D(10)), (D(10), None)]


def test_drought_surcharge_applies_only_on_the_days_its_stage_is_in_effect():
    t = tariff([{"rule": "volumetric", "rate": "2.00"},
                {"rule": "shortage_surcharge", "description": "Stage 2 drought surcharge", "rate": "0.50",
                 "active_from": "2026-03-16"}])
    lines = bill(t, "31", period=MARCH)
    assert [(l.rule, l.quantity, l.amount) for l in lines] == [
        ("volumetric", D(15), D("30.00")), ("volumetric", D(16), D("32.00")),
        ("shortage_surcharge", D(16), D("8.00"))]


def test_percentage_shortage_surcharge_is_taken_of_the_volume_lines():
    t = tariff([FIXED, {"rule": "volumetric", "rate": "3.65"},
                {"rule": "shortage_surcharge", "percent": "15", "description": "Stage 3 (15%)"}])
    lines = bill(t, "12", period=MARCH)
    assert (lines[-1].quantity, lines[-1].rate, lines[-1].amount) == (D("43.80"), D("0.15"), D("6.57"))


def test_fixed_surcharge_fire_service_by_line_size_and_flat_sewer():
    t = tariff([{"rule": "fixed_surcharge", "description": "Treatment surcharge", "rate": "4.10"},
                {"rule": "private_fire_service", "description": 'Private fire line, {line_size}"',
                 "rates": {"4": "25.00", "6": "48.00"}},
                {"rule": "sewer", "basis": "flat", "rate": "38.00"}])
    lines = bill(t, "9", Account("residential", "1", fire_line_size="6"))
    assert [(l.description, l.amount) for l in lines] == [
        ("Treatment surcharge", D("4.10")), ('Private fire line, 6"', D("48.00")), ("sewer", D("38.00"))]
    assert [l.rule for l in bill(t, "9")] == ["fixed_surcharge", "sewer"]  # no fire line, no fire charge


def test_sewer_on_winter_average_bills_the_lesser_of_usage_and_winter_average():
    t = tariff([{"rule": "sewer", "basis": "winter_average", "rate": "4.00"}])
    assert bill(t, "20", Account("residential", "5/8", winter_average=D(8)))[0].amount == D("32.00")
    assert bill(t, "5", Account("residential", "5/8", winter_average=D(8)))[0].amount == D("20.00")
    with pytest.raises(CannotBill, match="winter average"):
        bill(t, "5")


def test_minimum_charge_tops_up_a_small_bill_and_leaves_a_larger_one_alone():
    t = tariff([{"rule": "volumetric", "rate": "3.00"}, {"rule": "minimum_charge", "amount": "15.00"}])
    assert bill_total(bill(t, "2")) == D("15.00")
    assert [l.amount for l in bill(t, "2")] == [D("6.00"), D("9.00")]
    assert len(bill(t, "6")) == 1


def test_wholesale_deliveries_are_priced_per_acre_foot_from_hcf_exactly():
    t = tariff([{"rule": "wholesale", "unit": "acre_feet", "rate": "1250.00"}], customer_classes=["wholesale"])
    [line] = bill(t, "871.2", Account("wholesale", "8"))  # 871.2 HCF = 2 AF
    assert (line.quantity, line.unit, line.amount) == (D(2), "acre_feet", D("2500.00"))


def test_billing_in_gallons_with_consumption_truncated_to_whole_units():
    t = tariff([{"rule": "volumetric", "unit": "gallons", "rate": "0.005"}], billing_unit="gallons",
               rounding={"consumption": {"increment": "1", "mode": "down"}})
    [line] = bill(t, "2")  # 2 HCF = 1496.104 gal -> 1496 gal billed
    assert (line.quantity, line.amount) == (D(1496), D("7.48"))


def test_consumption_rounded_to_whole_hcf_truncated_before_pricing():
    t = tariff([{"rule": "volumetric", "rate": "3.65"}], rounding={"consumption": {"increment": "1",
                                                                                   "mode": "down"}})
    assert bill(t, "12.9")[0].quantity == D(12)


def test_late_penalty_10_percent_of_current_plus_1_percent_a_month_of_past_due_gov_code_61115():
    rule = tariff([FIXED], penalties={"percent_of_current": "10", "monthly_percent_of_past_due": "1"}).penalties
    lines = late_penalties(rule, D("64.55"), D("120.00"), months_past_due=2)
    assert [(l.rule, l.amount) for l in lines] == [("late_penalty", D("6.46")), ("past_due_interest", D("2.40"))]
    waived = late_penalties(rule, D("64.55"), D("120.00"), months_past_due=2, waive_interest=True)
    assert [l.rule for l in waived] == ["late_penalty"]  # H&S 116914 once-a-year waiver


def test_lines_record_tariff_version_and_the_charge_that_produced_them():
    t = tariff([FIXED, {"rule": "volumetric", "rate": "3.65"}])
    assert [(l.tariff, l.charge) for l in bill(t, "3")] == [("t@1", "charges[0]"), ("t@1", "charges[1]")]


def test_no_tariff_for_the_class_or_date_cannot_bill():
    t = tariff([FIXED])
    with pytest.raises(CannotBill, match="customer class irrigation"):
        bill(t, "1", Account("irrigation", "5/8"))
    with pytest.raises(CannotBill, match="no tariff in effect on 2025-03-01"):
        bill(t, "1", period=Period(date(2025, 3, 1), date(2025, 3, 31)))


def test_negative_consumption_and_unpriced_meter_sizes_cannot_bill():
    t = tariff([FIXED])
    with pytest.raises(CannotBill, match="negative"):
        bill(t, "-1")
    with pytest.raises(CannotBill, match='10" meter'):
        bill(t, "1", Account("residential", "10"))


# --- properties -----------------------------------------------------------------------------

TIERED = tariff([FIXED, {"rule": "tiered", "tier_width": {"per_dwelling_unit": True},
                         "tiers": [{"upto": "6", "rate": "3.10"}, {"upto": "15.5", "rate": "4.20"},
                                   {"upto": "40", "rate": "6.85"}, {"rate": "9.99"}]},
                 {"rule": "shortage_surcharge", "rate": "0.35"}])
usages = st.decimals(min_value=0, max_value=5000, places=2)


@settings(max_examples=300, deadline=None)
@given(usage=usages, units=st.integers(min_value=1, max_value=40))
def test_tier_quantities_sum_to_the_billed_usage(usage, units):
    lines = bill(TIERED, str(usage), Account("residential", "5/8", dwelling_units=units))
    assert sum(l.quantity for l in lines if l.rule == "tiered") == usage


@settings(max_examples=300, deadline=None)
@given(usage=usages, more=st.decimals(min_value=0, max_value=500, places=2), units=st.integers(1, 40))
def test_with_inclining_tiers_the_bill_never_falls_as_usage_rises(usage, more, units):
    account = Account("residential", "5/8", dwelling_units=units)
    assert bill_total(bill(TIERED, str(usage + more), account)) >= bill_total(bill(TIERED, str(usage), account))


@settings(max_examples=300, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2027, 12, 1)), length=st.integers(1, 70),
       cut=st.integers(1, 69), per=st.sampled_from(["day", "month"]))
def test_fixed_charges_prorated_over_split_periods_sum_to_the_whole(start, length, cut, per):
    from datetime import timedelta
    cut = min(cut, length - 1) if length > 1 else 0
    t = tariff([{**FIXED, "per": per}])
    period = Period(start, start + timedelta(days=length - 1))
    whole = bill(t, "0", period=period)[0]
    if cut:
        first = Period(start, start + timedelta(days=cut - 1))
        second = Period(first.end + timedelta(days=1), period.end)
        parts = [bill(t, "0", period=p)[0].amount for p in (first, second)]
        # each part is rounded to the cent on its own: the parts agree with the whole within a cent each
        assert abs(sum(parts) - whole.amount) <= D("0.01")
    days = [d for d in (cut, length - cut) if d]
    assert sum(split_by_days(D("0"), days, D(1))) == 0


@settings(max_examples=300, deadline=None)
@given(total=st.decimals(min_value=0, max_value=100000, places=2),
       days=st.lists(st.integers(1, 31), min_size=1, max_size=4),
       increment=st.sampled_from([D(1), D("0.01"), D("0.1")]))
def test_consumption_split_by_days_loses_nothing(total, days, increment):
    parts = split_by_days(total, days, increment)
    assert sum(parts) == total and all(p >= 0 for p in parts)


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2027, 12, 1)), length=st.integers(1, 70),
       change=st.integers(1, 69), split=st.integers(1, 69))
def test_every_day_of_consecutive_periods_is_billed_once_across_a_rate_change(start, length, change, split):
    """Periods are whole District days, both ends inclusive: two consecutive periods, each possibly cut
    by a new version taking effect, bill each day of their union exactly once."""
    from datetime import timedelta

    def version(n, effective_from, daily):
        return tariff([{"rule": "fixed_by_meter_size", "per": "day", "rates": {s: daily for s in SIZES}}],
                      version=n, effective_from=effective_from.isoformat())
    whole = Period(start, start + timedelta(days=length - 1))
    tariffs = [version(1, date(2025, 7, 1), "0.80"), version(2, start + timedelta(days=change % length), "0.85")]
    cut = split % length
    periods = [whole] if not cut else [Period(start, start + timedelta(days=cut - 1)),
                                       Period(start + timedelta(days=cut), whole.end)]
    days_billed = [line.days for period in periods for line in bill(tariffs, "0", period=period)]
    assert sum(days_billed) == whole.days
