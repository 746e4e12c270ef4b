"""Late penalties collections asks for, priced by billing on the tariff that billed the bill and
posted as adjustments, through the consumer on real RabbitMQ and PostgreSQL."""
from decimal import Decimal

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get as contract
from cis_runtime.testing import dead_letters, wait_for

from test_billing_service import (PERIOD, metering, open_accounts, outbox, query,  # noqa: F401 (fixture)
                                  run_to_completion, start_billing)
from test_tariff_service import only_the_adopted_demo_tariff  # noqa: F401 (autouse: tariffs loaded here go)

QUEUE = "billing.on_late_penalty_requested"


def penalty_request(bill_id: str, kind: str = "basic", **changes) -> dict:
    return {"request_id": f"LP-{bill_id}-{kind}", "account_id": "A0000001", "bill_id": bill_id, "kind": kind,
            "assessed_on": "2026-04-24", "current_charges": "64.55", "past_due": "64.55", "months": 1,
            "waive_interest": False, "rule": "Gov. Code 61115 / District policy", **changes}


def bill_of_64_55(rpc, publish, metering) -> str:
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    [(bill_id,)] = query("select bill_id from bills")
    rpc.billing.set_business_date("2026-04-24")
    return bill_id


def test_gov_code_61115_basic_penalty_is_10_percent_of_the_current_charges_posted_once(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = bill_of_64_55(rpc, publish, metering)
    request = penalty_request(bill_id)

    publish("collections.late_penalty_requested.v1", request)
    wait_for(lambda: outbox("billing.adjustment_posted.v1"), message="the penalty to be posted")
    publish("collections.late_penalty_requested.v1", request)  # a repeat in a new message
    wait_for(lambda: query("select count(*) from inbox where consumer = :c", c=QUEUE)[0][0] == 2,
             message="the repeat to be consumed")

    [envelope] = outbox("billing.adjustment_posted.v1")
    _, posted = open_envelope(envelope)
    assert (posted["kind"], posted["amount"], posted["reference"], posted["bill_id"], posted["balance_due"]) == (
        "late_penalty", Decimal("6.46"), request["request_id"], bill_id, Decimal("71.01"))  # 6.455 -> 6.46
    assert [(l["rule"], l["amount"]) for l in posted["lines"]] == [("late_penalty", Decimal("6.46"))]
    assert "residential@1" in posted["reason"] and "61115" in posted["reason"]
    assert query("select kind, amount from ledger_entries where kind <> 'bill'") == [("late_penalty", Decimal("6.46"))]
    assert query("select total from bills") == [(Decimal("64.55"),)]  # the bill is not changed
    assert dead_letters(QUEUE) == []


def test_hsc_116914_waived_interest_posts_nothing_and_the_request_is_remembered(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = bill_of_64_55(rpc, publish, metering)
    waived = penalty_request(bill_id, "monthly", request_id="LP-A0000001-2026-04", waive_interest=True)

    publish("collections.late_penalty_requested.v1", waived)
    wait_for(lambda: query("select amount, adjustment_id from penalty_requests"), message="the request remembered")
    # the same request_id again, even without the waiver, is a no-op
    publish("collections.late_penalty_requested.v1", {**waived, "waive_interest": False})
    wait_for(lambda: query("select count(*) from inbox where consumer = :c", c=QUEUE)[0][0] == 2,
             message="the repeat to be consumed")

    assert query("select amount, adjustment_id from penalty_requests") == [(Decimal("0.00"), None)]
    assert outbox("billing.adjustment_posted.v1") == []
    assert query("select count(*) from ledger_entries where kind <> 'bill'")[0][0] == 0


def test_a_monthly_penalty_uses_the_rates_of_the_tariff_version_that_billed_the_bill(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = bill_of_64_55(rpc, publish, metering)
    rpc.billing.load_tariff({"document": LATER_VERSION_WITH_OTHER_PENALTIES})

    publish("collections.late_penalty_requested.v1",
            penalty_request(bill_id, "monthly", request_id="LP-A0000001-2026-05", past_due="64.55", months=2))
    [envelope] = wait_for(lambda: outbox("billing.adjustment_posted.v1"), message="the penalty")

    _, posted = open_envelope(envelope)
    assert [(l["rule"], l["amount"]) for l in posted["lines"]] == [("past_due_interest", Decimal("1.29"))]  # 1% x 2
    assert "residential@1" in posted["reason"]


def test_a_penalty_for_a_bill_of_another_account_is_dead_lettered_at_once(running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = bill_of_64_55(rpc, publish, metering)
    open_accounts(publish, "A0000002")
    wait_for(lambda: query("select 1 from accounts where account_id = 'A0000002'"), message="A0000002 in billing")

    publish("collections.late_penalty_requested.v1", penalty_request(bill_id, account_id="A0000002"))

    [(headers, _)] = wait_for(lambda: dead_letters(QUEUE), message="the dead letter")
    assert "is not a bill of account A0000002" in headers["x-cis-error"]
    assert query("select count(*) from penalty_requests")[0][0] == 0


LATER_VERSION_WITH_OTHER_PENALTIES = {
    "tariff_id": "residential", "version": 2, "effective_from": "2026-04-01",
    "adopted_by": "Board Resolution 2026-09 (test)", "name": "Residential water service",
    "customer_classes": ["residential"], "meter_sizes": ["5/8"], "billing_unit": "HCF",
    "penalties": {"percent_of_current": "5", "monthly_percent_of_past_due": "0.5"},
    "charges": [{"rule": "fixed_by_meter_size", "per": "month", "rates": {"5/8": "20.75"}},
                {"rule": "volumetric", "rate": "3.65"}],
}


def test_every_late_penalty_requested_example_is_accepted(running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = bill_of_64_55(rpc, publish, metering)
    examples = contract("collections.late_penalty_requested.v1").examples()
    for example in examples:
        publish("collections.late_penalty_requested.v1", {**example, "account_id": "A0000001", "bill_id": bill_id})
    wait_for(lambda: query("select count(*) from penalty_requests")[0][0] == len(examples),
             message="every example assessed")
    assert dead_letters(QUEUE) == []
