"""Every input is checked at the door (issue 10): money with two decimals in a stated range, strings
with a length limit and no NUL, dates in the District's calendar, integers the database can hold;
each refusal is a validation error naming the field."""
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from cis_contracts import MESSAGES
from cis_contracts.envelope import EnvelopeSchema
from cis_contracts.fields import door_rule_gaps
from cis_contracts.registry import validate

PAYMENT = {"account_id": "A0000001", "amount": "64.55", "method": "check", "reference": "CHK-1042"}


def refused(name: str, payload: dict) -> dict:
    with pytest.raises(ValidationError) as error:
        validate(name, payload)
    return error.value.normalized_messages()


@pytest.mark.parametrize("amount", ["10.025", "0.001", "0.005", "1e10", "1E+2", "NaN", "Infinity", "-Infinity",
                                    "10000000000", "1000000000.00", "1000000000", 1e10, 12.3, 12, True,
                                    " 12.30", "12.30 ", "+12.30", "12.", ".5", "1_000.00", "", None, [], {}])
def test_a_payment_amount_is_a_decimal_string_with_at_most_two_decimals_below_a_billion(amount):
    assert "amount" in refused("billing.post_payment_request.v1", {**PAYMENT, "amount": amount})


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
def test_a_payment_must_be_positive(amount):
    assert "amount" in refused("billing.post_payment_request.v1", {**PAYMENT, "amount": amount})


@pytest.mark.parametrize("amount, loaded", [("0.01", "0.01"), ("10.02", "10.02"), ("10.5", "10.5"), ("7", "7"),
                                            ("999999999.99", "999999999.99")])
def test_amounts_in_range_load_exactly(amount, loaded):
    assert validate("billing.post_payment_request.v1", {**PAYMENT, "amount": amount})["amount"] == Decimal(loaded)


@pytest.mark.parametrize("name", ["billing.post_adjustment_request.v1", "collections.agree_payment_plan_request.v2"])
def test_every_money_field_refuses_a_third_decimal(name):
    money_fields = [n for n, f in MESSAGES[name].schema().fields.items() if type(f).__name__ == "Money"]
    example = MESSAGES[name].examples()[0]
    for field in money_fields:
        if field in example:
            assert field in refused(name, {**example, field: "10.025"})


def test_a_money_amount_is_dumped_half_up_like_the_ledger():
    from cis_contracts.dumper import dumper
    dumped = dumper("billing.payment_posted.v1")({"payment_id": "P1", "account_id": "A1", "amount": Decimal("10.025"),
                                                  "received_on": date(2026, 4, 10), "balance_after": Decimal("-0.005")})
    assert (dumped["amount"], dumped["balance_after"]) == ("10.03", "-0.01")


@pytest.mark.parametrize("consumption", ["1e30", "1000000000000", "NaN", "Infinity", "1e-40", 12.5, "twelve"])
def test_a_bill_preview_quantity_is_a_decimal_string_within_range(consumption):
    request = {"customer_class": "residential", "meter_size": "5/8", "consumption": consumption}
    assert "consumption" in refused("billing.preview_bill_request.v1", request)


def test_quantities_keep_their_scale():
    request = {"customer_class": "residential", "meter_size": "5/8", "consumption": "12.345678"}
    assert validate("billing.preview_bill_request.v1", request)["consumption"] == Decimal("12.345678")


@pytest.mark.parametrize("received_on", ["1900-01-01", "1949-12-31", "2099-06-01", "9999-12-31", "0001-01-01"])
def test_a_date_outside_the_districts_calendar_is_refused(received_on):
    assert "received_on" in refused("billing.post_payment_request.v1", {**PAYMENT, "received_on": received_on})


@pytest.mark.parametrize("read_at", ["9999-12-31T23:00:00+00:00", "0001-01-01T08:00:00+00:00"])
def test_a_manual_read_dated_year_9999_or_0001_is_refused(read_at):
    example = MESSAGES["metering.enter_manual_read_request.v1"].examples()[0]
    assert "read_at" in refused("metering.enter_manual_read_request.v1", {**example, "read_at": read_at})


def test_a_nul_byte_in_any_string_is_refused():
    assert "reference" in refused("billing.post_payment_request.v1", {**PAYMENT, "reference": "CHK\x001042"})
    example = MESSAGES["accounts.create_customer_request.v1"].examples()[0]
    address = {**example["mailing_address"], "line2": "Apt\x00 4"}
    assert refused("accounts.create_customer_request.v1", {**example, "mailing_address": address}) == {
        "mailing_address": {"line2": ["Must not contain a NUL character."]}}


def test_a_5000_character_address_line_is_refused():
    example = MESSAGES["accounts.create_customer_request.v1"].examples()[0]
    for line in ("line1", "line2"):
        address = {**example["mailing_address"], line: "x" * 5000}
        assert line in refused("accounts.create_customer_request.v1", {**example, "mailing_address": address})[
            "mailing_address"]


def test_a_huge_integer_is_refused_not_overflowed_at_the_database():
    example = MESSAGES["accounts.authorize_connection_request.v1"].examples()[0]
    assert "dwelling_units" in refused("accounts.authorize_connection_request.v1",
                                       {**example, "dwelling_units": 10**20})


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_string_date_and_integer_of_every_contract_has_its_limits(name):
    assert door_rule_gaps(MESSAGES[name].schema) == []


def test_the_envelope_has_its_limits():
    assert door_rule_gaps(EnvelopeSchema) == []
