"""The bill calculation: a pure function of the adopted tariff document, meter size and consumption."""
import importlib
from datetime import date
from decimal import Decimal

import pytest

from cis_billing.domain.billing import due_date
from cis_billing.domain.tariff import CannotBill, TariffVersion, bill_total, calculate_bill, tariff_in_effect

# The document the first migration adopts, exactly as seeded.
DEMO = importlib.import_module("cis_billing.migrations.versions.0001_initial").DEMO_RESIDENTIAL_TARIFF


def test_five_eighths_inch_meter_using_12_hcf_pays_service_charge_plus_usage():
    lines = calculate_bill(DEMO, "5/8", Decimal("12"))

    assert [(l.rule, l.quantity, l.unit, l.rate, l.amount) for l in lines] == [
        ("fixed_by_meter_size", Decimal("1"), "month", Decimal("20.75"), Decimal("20.75")),
        ("volumetric", Decimal("12"), "HCF", Decimal("3.65"), Decimal("43.80")),
    ]
    assert lines[0].description == 'Monthly service charge, 5/8" meter'
    assert bill_total(lines) == Decimal("64.55")


@pytest.mark.parametrize("meter_size, service_charge", [
    ("5/8", "20.75"), ("3/4", "31.13"), ("1", "51.88"), ("1.5", "103.75"), ("2", "166.00"),
    ("3", "332.00"), ("4", "518.75"), ("6", "1037.50"), ("8", "1660.00")])
def test_service_charge_follows_meter_size_as_adopted(meter_size, service_charge):
    [fixed, usage] = calculate_bill(DEMO, meter_size, Decimal("0"))
    assert fixed.amount == Decimal(service_charge)
    assert usage.amount == Decimal("0.00")


def test_each_line_is_rounded_half_up_to_the_cent():
    # 0.5 HCF x 3.65 = 1.825 -> 1.83 (half-up, not banker's 1.82)
    [_, usage] = calculate_bill(DEMO, "5/8", Decimal("0.5"))
    assert usage.amount == Decimal("1.83")
    # 0.01 HCF x 3.65 = 0.0365 -> 0.04
    assert calculate_bill(DEMO, "5/8", Decimal("0.01"))[1].amount == Decimal("0.04")


def test_amounts_are_decimal_never_float():
    for line in calculate_bill(DEMO, "1", Decimal("7.3")):
        assert isinstance(line.amount, Decimal) and isinstance(line.rate, Decimal)


def test_a_meter_size_the_tariff_does_not_price_cannot_be_billed():
    with pytest.raises(CannotBill, match='10" meter'):
        calculate_bill(DEMO, "10", Decimal("3"))


def test_negative_consumption_cannot_be_billed():
    with pytest.raises(CannotBill, match="negative"):
        calculate_bill(DEMO, "5/8", Decimal("-1"))


def test_the_tariff_in_effect_is_the_latest_adopted_by_the_period_end():
    old = TariffVersion("residential", 1, date(2025, 7, 1), DEMO)
    newer = TariffVersion("residential", 2, date(2026, 7, 1), DEMO)
    assert tariff_in_effect([old, newer], "residential", date(2026, 6, 30)) is old
    assert tariff_in_effect([old, newer], "residential", date(2026, 7, 31)) is newer
    with pytest.raises(CannotBill, match="customer class commercial"):
        tariff_in_effect([old, newer], "commercial", date(2026, 7, 31))
    with pytest.raises(CannotBill, match="no tariff in effect"):
        tariff_in_effect([old], "residential", date(2025, 6, 30))


def test_bills_are_due_21_days_after_issue():
    assert due_date(date(2026, 4, 2)) == date(2026, 4, 23)
