"""The demo tariff as the migrations adopt it, and tariff documents refused with the place named."""
import copy
import importlib
from datetime import date
from decimal import Decimal

import pytest

from cis_billing.domain.billing import due_date
from cis_billing.domain.engine import Account, CannotBill, Determinants, Period, bill_total, calculate, tariff_on
from cis_billing.domain.tariff_document import TariffInvalid, check_fits_history, parse_tariff

# The document migration 0002 writes for residential@1, exactly as stored.
DEMO_DOCUMENT = importlib.import_module("cis_billing.migrations.versions.0002_tariff_engine").DEMO_RESIDENTIAL_TARIFF
DEMO = parse_tariff(DEMO_DOCUMENT)
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))


def demo_bill(meter_size: str, hcf: str):
    return calculate([DEMO], Account("residential", meter_size), Determinants(Decimal(hcf)), APRIL)


def test_five_eighths_inch_meter_using_12_hcf_pays_service_charge_plus_usage_64_55():
    lines = demo_bill("5/8", "12")
    assert [(l.rule, l.quantity, l.unit, l.rate, l.amount, l.tariff) for l in lines] == [
        ("fixed_by_meter_size", Decimal("1"), "month", Decimal("20.75"), Decimal("20.75"), "residential@1"),
        ("volumetric", Decimal("12"), "HCF", Decimal("3.65"), Decimal("43.80"), "residential@1"),
    ]
    assert lines[0].description == 'Monthly service charge, 5/8" meter'
    assert bill_total(lines) == Decimal("64.55")


@pytest.mark.parametrize("meter_size, service_charge", [
    ("5/8", "20.75"), ("3/4", "31.13"), ("1", "51.88"), ("1.5", "103.75"), ("2", "166.00"),
    ("3", "332.00"), ("4", "518.75"), ("6", "1037.50"), ("8", "1660.00")])
def test_service_charge_follows_meter_size_as_adopted(meter_size, service_charge):
    [fixed, usage] = demo_bill(meter_size, "0")
    assert fixed.amount == Decimal(service_charge)
    assert usage.amount == Decimal("0.00")


def test_each_line_is_rounded_half_up_to_the_cent():
    assert demo_bill("5/8", "0.5")[1].amount == Decimal("1.83")   # 1.825 -> 1.83 (not banker's 1.82)
    assert demo_bill("5/8", "0.01")[1].amount == Decimal("0.04")  # 0.0365 -> 0.04


def test_amounts_are_decimal_never_float():
    for line in demo_bill("1", "7.3"):
        assert isinstance(line.amount, Decimal) and isinstance(line.rate, Decimal)


def test_the_tariff_in_effect_is_the_latest_adopted_by_the_day():
    newer = parse_tariff({**DEMO_DOCUMENT, "version": 2, "effective_from": "2026-07-01"})
    assert tariff_on([DEMO, newer], "residential", date(2026, 6, 30)) is DEMO
    assert tariff_on([DEMO, newer], "residential", date(2026, 7, 31)) is newer
    with pytest.raises(CannotBill, match="customer class commercial"):
        tariff_on([DEMO, newer], "commercial", date(2026, 7, 31))


def test_bills_are_due_21_days_after_issue():
    assert due_date(date(2026, 4, 2)) == date(2026, 4, 23)


# --- documents refused ----------------------------------------------------------------------

def problems(**changes) -> list[str]:
    document = copy.deepcopy(DEMO_DOCUMENT)
    document.update(changes)
    with pytest.raises(TariffInvalid) as error:
        parse_tariff(document)
    return error.value.problems


def tiered(*tiers):
    return [DEMO_DOCUMENT["charges"][0], {"rule": "tiered", "tiers": list(tiers)}]


def test_overlapping_tiers_are_refused_naming_the_tier():
    assert problems(charges=tiered({"upto": "10", "rate": "3"}, {"upto": "8", "rate": "4"}, {"rate": "5"})) == [
        "charges[1].tiers[1].upto: overlaps tier 0"]
    assert problems(charges=tiered({"upto": "10", "rate": "3"}, {"from": "9", "rate": "4"})) == [
        "charges[1].tiers[1].from: overlaps tier 0 (which ends at 10)"]


def test_a_gap_between_tiers_or_above_the_last_is_refused():
    assert problems(charges=tiered({"upto": "10", "rate": "3"}, {"from": "12", "rate": "4"})) == [
        "charges[1].tiers[1].from: leaves a gap after tier 0 (which ends at 10)"]
    assert problems(charges=tiered({"upto": "10", "rate": "3"}, {"upto": "20", "rate": "4"})) == [
        "charges[1].tiers[1].upto: the last tier must be open-ended (leave upto out), "
        "or usage above it would have no rate"]


def test_a_meter_size_the_tariff_serves_without_a_charge_is_refused():
    fixed = copy.deepcopy(DEMO_DOCUMENT["charges"][0])
    del fixed["rates"]["3/4"]
    assert problems(charges=[fixed]) == ['charges[0].rates: no charge for meter size 3/4" (the tariff serves it)']


def test_grace_days_are_a_whole_number_of_days_or_refused_naming_the_field():
    assert parse_tariff({**DEMO_DOCUMENT, "penalties": {"grace_days": 5}}).penalties["grace_days"] == 5
    assert DEMO.penalties["grace_days"] == 0
    for bad in ("five", 2.5, -1, True):
        assert problems(penalties={"grace_days": bad}) == [
            f"penalties.grace_days: {bad!r} must be a whole number of days from 0 to 60"]


def test_floats_unknown_rules_and_missing_fields_are_each_named():
    found = problems(charges=[{"rule": "volumetric", "rate": 3.65}, {"rule": "tiered_blocks"}],
                     effective_from="July 1", adopted_by=None)
    assert found == [
        "effective_from: 'July 1' is not a date (YYYY-MM-DD)",
        "adopted_by: required",
        "charges[0].rate: 3.65 must be a decimal string (\"3.65\"), not a float",
        "charges[1].rule: 'tiered_blocks' is not one of budget_tiered, fixed_by_meter_ratio, fixed_by_meter_size, "
        "fixed_surcharge, minimum_charge, private_fire_service, sewer, shortage_surcharge, tiered, volumetric, "
        "wholesale"]


def test_another_tariff_covering_the_same_class_on_overlapping_dates_is_refused():
    rival = parse_tariff({**DEMO_DOCUMENT, "tariff_id": "residential-2027", "effective_from": "2027-01-01"})
    with pytest.raises(TariffInvalid, match="effective_from: residential-2027 would cover class residential "
                                            "from 2027-01-01, overlapping residential in effect from 2025-07-01"):
        check_fits_history(rival, [DEMO])
    ended = parse_tariff({**DEMO_DOCUMENT, "version": 2, "effective_from": "2026-07-01", "effective_to": "2026-12-31"})
    check_fits_history(rival, [DEMO, ended])  # the old tariff ends before the new one starts


def test_a_version_must_follow_the_stored_versions():
    with pytest.raises(TariffInvalid, match="version: residential@1 is not after the stored residential@1"):
        check_fits_history(DEMO, [DEMO])


# --- issue 10: unknown fields, placeholders and customer classes refused at load --------------

def test_an_unknown_field_anywhere_in_the_document_is_refused_naming_its_place():
    charges = copy.deepcopy(DEMO_DOCUMENT["charges"]) + [
        {"rule": "fixed_surcharge", "description": "Treatment surcharge", "pre": "day", "rate": "1.42"},
        {"rule": "tiered", "tier_width": {"per_dwelling_units": True},
         "tiers": [{"upto": "4", "rate": "3.65", "rat": "1"}, {"rate": "6.17"}]}]
    found = problems(charges=charges, effective_form="2026-07-01",
                     penalties={"percent_of_current": "10", "monthly_percent_past_due": "1"},
                     rounding={"amounts": "half_up", "consumption": {"increment": "1", "mdoe": "down"}})
    assert found == [
        "effective_form: unknown field (did you mean effective_from?)",
        "rounding.consumption.mdoe: unknown field (did you mean mode?)",
        "charges[2].pre: unknown field (did you mean per?)",
        "charges[3].tier_width.per_dwelling_units: unknown field (did you mean per_dwelling_unit?)",
        "charges[3].tiers[0].rat: unknown field (did you mean rate?)",
        "penalties.monthly_percent_past_due: unknown field (did you mean monthly_percent_of_past_due?)"]


def test_a_field_of_another_charge_kind_is_unknown_to_this_one():
    found = problems(charges=[DEMO_DOCUMENT["charges"][0],
                              {"rule": "volumetric", "rate": "3.65", "per": "day"},
                              {"rule": "budget_tiered", "budget": {"plant_factr": "0.7"},
                               "tiers": [{"upto": "40", "rate": "1.50"}, {"rate": "8.00"}]}])
    assert "charges[1].per: unknown field (volumetric takes rule, description, active_from, active_to, unit, " \
           "rate)" in found
    assert "charges[2].budget.plant_factr: unknown field (did you mean plant_factor?)" in found
    assert "charges[2].tiers[0].upto: unknown field (did you mean upto_percent?)" in found


@pytest.mark.parametrize("rule_fields, description, problem", [
    ({"rule": "fixed_by_meter_size", "per": "month", "rates": {"5/8": "20.75"}}, "Service, {meter_sise}\" meter",
     "unknown placeholder {meter_sise}: fixed_by_meter_size offers {meter_size}"),
    ({"rule": "private_fire_service", "rates": {"4": "25.00"}}, "Fire line {meter_size}",
     "unknown placeholder {meter_size}: private_fire_service offers {line_size}"),
    ({"rule": "volumetric", "rate": "3.65"}, "Water usage {unit}",
     "unknown placeholder {unit}: volumetric offers no placeholders"),
    ({"rule": "fixed_surcharge", "rate": "4.10"}, "Surcharge {}", "unknown placeholder {}: fixed_surcharge offers "
                                                                  "{meter_size}"),
    ({"rule": "fixed_surcharge", "rate": "4.10"}, "Surcharge {meter_size", "unbalanced braces: write { as {{ "
                                                                          "and } as }}"),
])
def test_a_description_placeholder_the_charge_does_not_offer_is_refused_at_load(rule_fields, description, problem):
    document = {**DEMO_DOCUMENT, "meter_sizes": ["5/8"],
                "charges": [{**rule_fields, "description": description}]}
    with pytest.raises(TariffInvalid) as error:
        parse_tariff(document)
    assert error.value.problems == [f"charges[0].description: {problem}"]


def test_offered_placeholders_and_escaped_braces_load_and_bill():
    document = {**DEMO_DOCUMENT, "charges": [
        {**DEMO_DOCUMENT["charges"][0], "description": "Service {{base}}, {meter_size}\" meter"},
        {"rule": "volumetric", "description": "Water usage", "rate": "3.65"}]}
    lines = calculate([parse_tariff(document)], Account("residential", "5/8"), Determinants(Decimal("1")), APRIL)
    assert lines[0].description == 'Service {base}, 5/8" meter'


DISTRICT_CLASSES = ("residential", "multi_family", "commercial", "irrigation", "agency")


def test_a_customer_class_accounts_does_not_define_is_refused():
    with pytest.raises(TariffInvalid) as error:
        parse_tariff({**DEMO_DOCUMENT, "customer_classes": ["residential", "multifamily"]},
                     customer_classes=DISTRICT_CLASSES)
    assert error.value.problems == [
        "customer_classes[1]: 'multifamily' is not a customer class of the District (accounts defines agency, "
        "commercial, irrigation, multi_family, residential)"]


def test_the_shipped_tariff_files_name_only_the_classes_accounts_defines():
    from pathlib import Path
    from cis_billing.tariffs import read_document
    from cis_contracts.accounts import CUSTOMER_CLASSES
    files = sorted((Path(__file__).resolve().parent.parent / "tariffs").glob("*.yaml"))
    assert files
    for path in files:
        parse_tariff(read_document(path), customer_classes=CUSTOMER_CLASSES)


def test_meter_and_fire_line_sizes_are_checked_against_the_districts_lists_at_load():
    from cis_contracts.accounts import FIRE_LINE_SIZES
    from cis_contracts.metering import METER_SIZES
    document = copy.deepcopy(DEMO_DOCUMENT)
    document["meter_sizes"] = ["5/8", "7/8"]
    document["charges"][0]["rates"] = {"5/8": "20.75", "7/8": "25.00", "10": "99.00"}
    document["charges"].append({"rule": "private_fire_service", "rates": {"4": "25.00", "5": "30.00"}})
    with pytest.raises(TariffInvalid) as error:
        parse_tariff(document, meter_sizes=METER_SIZES, fire_line_sizes=FIRE_LINE_SIZES)
    assert error.value.problems == [
        "meter_sizes[1]: '7/8' is not a meter size the District installs (5/8, 3/4, 1, 1.5, 2, 3, 4, 6, 8)",
        "charges[0].rates.7/8: '7/8' is not a meter size the District installs (5/8, 3/4, 1, 1.5, 2, 3, 4, 6, 8)",
        "charges[0].rates.10: '10' is not a meter size the District installs (5/8, 3/4, 1, 1.5, 2, 3, 4, 6, 8)",
        "charges[2].rates.5: '5' is not a fire line size the District installs (1, 1.5, 2, 3, 4, 6, 8, 10, 12)"]


def test_numbers_a_tariff_cannot_hold_are_refused_not_failed_on():
    charges = [DEMO_DOCUMENT["charges"][0],
               {"rule": "tiered", "tier_width": {"days_in_year": "many"},
                "tiers": [{"upto": "1e30", "rate": "3.65"}, {"rate": "0.0000000000001"}]}]
    assert problems(version=10**20, charges=charges) == [
        "version: 100000000000000000000 must be a whole number from 1 to 9999",
        "charges[1].tiers[0].upto: 1E+30 must be below 1000000000",
        "charges[1].tiers[1].rate: 1E-13 must have at most 12 decimals",
        "charges[1].tier_width.days_in_year: 'many' must be a whole number of days from 360 to 366"]
