"""Issue 10: billing's entrypoints refuse at the door what they cannot take, naming the field, with
nothing stored; an account the engine cannot describe is its run's exception, never a stuck run."""
import copy
import json

import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import InvalidInput
from test_billing_service import (PERIOD, metering, open_accounts, outbox, query,  # noqa: F401 (fixture)
                                  run_to_completion)
from test_tariff_service import DEMO, only_the_adopted_demo_tariff  # noqa: F401 (autouse: tariffs loaded here go)

PAYMENT = {"account_id": "A0000001", "amount": "25.00", "method": "check", "reference": "CHK-1"}


def refused(call, request) -> dict:
    with pytest.raises(InvalidInput) as error:
        call(request)
    return error.value.args[0]


# --- money ----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount", ["10.025", "0.001", "0.005", "10000000000", "1e10", "NaN", 10.02, 10])
def test_a_payment_amount_the_ledger_would_round_or_overflow_is_refused_and_nothing_is_stored(
        running_services, rpc, publish, amount):
    running_services("billing")
    open_accounts(publish, "A0000001")
    assert "amount" in refused(rpc.billing.post_payment, {**PAYMENT, "amount": amount})
    assert query("select count(*) from payments")[0][0] == 0
    assert query("select count(*) from ledger_entries")[0][0] == 0
    assert outbox("billing.payment_posted.v1") == []


def test_a_payment_in_cents_is_the_same_amount_in_the_ledger_the_event_and_the_answer(running_services, rpc, publish):
    running_services("billing")
    open_accounts(publish, "A0000001")
    payment = rpc.billing.post_payment({**PAYMENT, "amount": "10.02"})
    [envelope] = outbox("billing.payment_posted.v1")
    assert (payment["amount"], envelope["payload"]["amount"]) == ("10.02", "10.02")
    assert [str(a) for (a,) in query("select amount from payments")] == ["10.02"]
    assert [str(a) for (a,) in query("select amount from ledger_entries")] == ["-10.02"]


@pytest.mark.parametrize("received_on", ["1900-01-01", "2099-01-01", "9999-12-31", "0001-01-01"])
def test_a_payment_received_outside_the_districts_calendar_is_refused(running_services, rpc, publish, received_on):
    running_services("billing")
    open_accounts(publish, "A0000001")
    assert "received_on" in refused(rpc.billing.post_payment, {**PAYMENT, "received_on": received_on})
    assert query("select count(*) from payments")[0][0] == 0


def test_strings_with_nul_or_beyond_their_limit_are_refused(running_services, rpc, publish):
    running_services("billing")
    open_accounts(publish, "A0000001")
    assert "reference" in refused(rpc.billing.post_payment, {**PAYMENT, "reference": "CHK\x001"})
    assert "account_id" in refused(rpc.billing.post_payment, {**PAYMENT, "account_id": "A" * 5000})
    adjustment = {"account_id": "A0000001", "kind": "credit", "amount": "0.005", "reason_code": "courtesy",
                  "note": "goodwill", "posted_by": "csr.1"}
    assert "amount" in refused(rpc.billing.post_adjustment, adjustment)
    assert "note" in refused(rpc.billing.post_adjustment, {**adjustment, "amount": "5.00", "note": "x\x00"})
    for call in (rpc.billing.account_statement, rpc.billing.account_statement_v2):
        assert "account_id" in refused(call, "A\x00")
        assert "account_id" in refused(call, "A" * 1_000_000)
        assert "account_id" in refused(call, 7)
    assert "run_id" in refused(rpc.billing.get_bill_run, "BR\x00")
    assert query("select count(*) from ledger_entries")[0][0] == 0


@pytest.mark.parametrize("consumption", ["1e30", "NaN", 1e30])
def test_a_bill_preview_of_an_impossible_consumption_is_refused(running_services, rpc, consumption):
    running_services("billing")
    request = {"customer_class": "residential", "meter_size": "5/8", "consumption": consumption}
    assert "consumption" in refused(rpc.billing.preview_bill, request)


# --- bill runs ------------------------------------------------------------------------------

def test_a_bill_run_for_a_cycle_no_account_is_on_is_refused(running_services, rpc, publish):
    running_services("billing")
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001")
    assert refused(rpc.billing.start_bill_run, {"cycle": "zzz", **PERIOD}) == {
        "cycle": ["no account is on bill cycle 'zzz' (accounts opened moments ago may not have reached billing yet)"]}
    assert query("select count(*) from bill_runs")[0][0] == 0


def test_a_bill_run_period_longer_than_a_year_is_refused(running_services, rpc, publish):
    running_services("billing")
    rpc.billing.set_business_date("2036-04-02")
    open_accounts(publish, "A0000001")
    assert refused(rpc.billing.start_bill_run, {"cycle": "1", "period_start": "2026-03-01",
                                                "period_end": "2036-02-29"}) == {
        "period_end": ["the period is 3653 days; a bill run bills at most 366"]}
    assert query("select count(*) from bill_runs")[0][0] == 0


def test_a_bill_run_for_days_not_yet_served_is_refused(running_services, rpc, publish):
    running_services("billing")
    rpc.billing.set_business_date("2026-03-20")
    open_accounts(publish, "A0000001")
    assert refused(rpc.billing.start_bill_run, {"cycle": "1", **PERIOD}) == {
        "period_end": ["is after the business date 2026-03-20: days not yet served cannot be billed"]}
    assert query("select count(*) from bill_runs")[0][0] == 0


def test_an_account_whose_bill_cannot_be_described_is_its_runs_exception_and_the_run_completes(
        running_services, rpc, publish, metering):
    running_services("billing")
    rpc.billing.set_business_date("2026-04-02")
    # stored before placeholders were checked at load: {meter_sise} raises KeyError when billed
    broken = copy.deepcopy(DEMO)
    broken.update(tariff_id="commercial", customer_classes=["commercial"])
    broken["charges"][0]["description"] = "Service, {meter_sise}\" meter"
    with engine_for("billing").begin() as db:
        db.execute(sa.text("insert into tariffs (tariff_id, version, effective_from, document, adopted_by) "
                           "values ('commercial', 1, '2025-07-01', cast(:d as jsonb), 'test')"),
                   {"d": json.dumps(broken)})
    open_accounts(publish, "A0000001", "A0000002")
    with engine_for("billing").begin() as db:
        db.execute(sa.text("update accounts set customer_class = 'commercial' where account_id = 'A0000002'"))
    metering({"A0000001": "12", "A0000002": "12"})

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert run["bills_issued"] == 1
    assert run["exceptions"] == [{"account_id": "A0000002", "reason":
                                  "unexpected error, reported to support: KeyError: 'meter_sise'"}]


# --- tariff documents -----------------------------------------------------------------------

def test_a_tariff_with_a_misspelled_field_or_an_unknown_class_is_refused_naming_the_place(running_services, rpc):
    running_services("billing")
    document = copy.deepcopy(DEMO)
    document.update(version=2, effective_from="2026-07-01", customer_classes=["residential", "multifamily"])
    document["charges"].append({"rule": "fixed_surcharge", "description": "Treatment", "pre": "day", "rate": "1.42"})
    document["charges"][1]["description"] = "Water usage {unit}"
    fields = refused(rpc.billing.load_tariff, {"document": document})
    assert fields == {
        "document.customer_classes[1]": ["'multifamily' is not a customer class of the District (accounts defines "
                                         "agency, commercial, irrigation, multi_family, residential)"],
        "document.charges[1].description": ["unknown placeholder {unit}: volumetric offers no placeholders"],
        "document.charges[2].pre": ["unknown field (did you mean per?)"]}
    assert query("select count(*) from tariffs")[0][0] == 1


def test_a_tariff_document_with_a_nul_or_nested_without_end_is_refused(running_services, rpc):
    running_services("billing")
    document = copy.deepcopy(DEMO)
    document.update(version=2, effective_from="2026-07-01", name="Residential\x00")
    assert refused(rpc.billing.load_tariff, {"document": document}) == {
        "document.name": ["strings must have no NUL character and at most 2000 characters"]}
    deep: dict = {}
    for _ in range(100):
        deep = {"x": deep}
    assert "document" in " ".join(refused(rpc.billing.load_tariff, {"document": {**DEMO, "charges": [deep]}}))


def test_a_bill_beyond_the_money_range_is_its_accounts_exception_not_a_failed_chunk(
        running_services, rpc, publish, metering):
    running_services("billing")
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001", "A0000002")
    metering({"A0000001": "12", "A0000002": "300000000"})  # 300 million HCF at 3.65

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert run["bills_issued"] == 1
    assert run["exceptions"] == [{"account_id": "A0000002", "reason": "bill total 1095000020.75 is beyond the "
                                  "District's money range (below 1000000000)"}]
