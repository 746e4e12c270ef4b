"""Late penalties collections asks for, priced by billing on the tariff that billed the bill and
posted as adjustments, through the consumer on real RabbitMQ and PostgreSQL."""
import time
from decimal import Decimal

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get as contract
from cis_billing.service import BILL_RUN_POLL_SECONDS
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


# --- billing refuses a penalty its own ledger does not support (issue 9, case 1) -----------------

JANUARY = {"period_start": "2026-01-01", "period_end": "2026-01-31"}


def january_bill_of_64_55(rpc, publish, metering, account_id: str = "A0000003") -> str:
    """A bill issued 2026-02-01, due 2026-02-22, of $64.55 (as B0000002 of the demo district)."""
    rpc.billing.set_business_date("2026-02-01")
    open_accounts(publish, account_id, opened_on="2025-07-01")
    metering({account_id: "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **JANUARY}))
    [(bill_id, due_on, total)] = query("select bill_id, due_on, total from bills")
    assert (due_on.isoformat(), total) == ("2026-02-22", Decimal("64.55"))
    return bill_id


def paid(rpc, amount: str, received_on: str, account_id: str = "A0000003") -> None:
    rpc.billing.post_payment({"account_id": account_id, "amount": amount, "method": "check",
                              "reference": f"CHK-{received_on}", "received_on": received_on})


def assessed(publish, request: dict) -> tuple:
    """Publish the request and wait until billing remembers it: (amount, adjustment_id, refusal_reason)."""
    publish("collections.late_penalty_requested.v1", request)
    return wait_for(lambda: query("select amount, adjustment_id, refusal_reason from penalty_requests "
                                  "where request_id = :r", r=request["request_id"]), message="the request assessed")[0]


def late_penalties_posted() -> list:
    return query("select amount from ledger_entries where kind = 'late_penalty'")


def test_an_on_time_payer_is_not_penalized_even_when_collections_asks_on_a_stale_view(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    paid(rpc, "64.55", "2026-02-01")  # before the 2026-02-22 due date
    rpc.billing.set_business_date("2026-02-23")
    request = penalty_request(bill_id, account_id="A0000003", assessed_on="2026-02-23")

    amount, adjustment_id, refusal = assessed(publish, request)
    publish("collections.late_penalty_requested.v1", request)  # redelivered in a new message
    wait_for(lambda: query("select count(*) from inbox where consumer = :c", c=QUEUE)[0][0] == 2,
             message="the repeat to be consumed")

    assert (amount, adjustment_id) == (Decimal("0.00"), None)
    assert refusal == f"bill {bill_id} was paid by 2026-02-22 (due 2026-02-22 + 0 grace days)"
    assert late_penalties_posted() == [] and query("select count(*) from adjustments")[0][0] == 0
    assert outbox("billing.adjustment_posted.v1") == []
    assert dead_letters(QUEUE) == []


def with_grace_days(days: int) -> dict:
    """The demo rates as residential@2 from 2026-01-01, with grace days after the due date."""
    return {**LATER_VERSION_WITH_OTHER_PENALTIES, "effective_from": "2026-01-01",
            "penalties": {"percent_of_current": "10", "monthly_percent_of_past_due": "1", "grace_days": days}}


def deferred() -> list:
    return query("select request_id, deferred_until::text, amount, refusal_reason from penalty_requests "
                 "where deferred_until is not null")


def test_a_payment_inside_the_tariffs_grace_days_is_on_time(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.load_tariff({"document": with_grace_days(5)})
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    rpc.billing.set_business_date("2026-02-23")
    early = penalty_request(bill_id, account_id="A0000003", request_id="LP-early", assessed_on="2026-02-23")
    assert assessed(publish, early) == (Decimal("0.00"), None, None)  # asked inside grace: it waits
    assert deferred() == [("LP-early", "2026-02-28", Decimal("0.00"), None)]
    paid(rpc, "64.55", "2026-02-27")  # the last day of grace

    rpc.billing.set_business_date("2026-02-28")
    wait_for(lambda: not deferred(), message="the deferred request assessed on 2026-02-28")

    assert query("select assessed_on::text, refusal_reason from penalty_requests") == [
        ("2026-02-28", f"bill {bill_id} was paid by 2026-02-27 (due 2026-02-22 + 5 grace days)")]
    assert late_penalties_posted() == [] and outbox("billing.adjustment_posted.v1") == []


def test_a_basic_penalty_asked_inside_grace_is_posted_the_day_after_it_when_the_bill_is_unpaid(
        running_services, rpc, publish, metering):
    """Collections asks at due + its reminder days, not knowing the tariff's grace: the penalty is not lost."""
    start_billing(running_services)
    rpc.billing.load_tariff({"document": with_grace_days(5)})
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    rpc.billing.set_business_date("2026-02-23")
    assessed(publish, penalty_request(bill_id, account_id="A0000003", assessed_on="2026-02-23"))
    rpc.billing.set_business_date("2026-02-27")
    time.sleep(2 * BILL_RUN_POLL_SECONDS)
    assert late_penalties_posted() == []  # still inside grace

    rpc.billing.set_business_date("2026-02-28")
    wait_for(late_penalties_posted, message="the penalty posted the day after grace")

    assert late_penalties_posted() == [(Decimal("6.46"),)]
    assert query("select assessed_on::text, deferred_until, request from penalty_requests") == [
        ("2026-02-28", None, None)]
    [envelope] = outbox("billing.adjustment_posted.v1")
    assert open_envelope(envelope)[1]["posted_on"].isoformat() == "2026-02-28"


def test_a_partial_payment_by_the_due_date_still_owes_the_basic_penalty(running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    paid(rpc, "30.00", "2026-02-20")
    rpc.billing.set_business_date("2026-02-23")

    amount, adjustment_id, refusal = assessed(
        publish, penalty_request(bill_id, account_id="A0000003", assessed_on="2026-02-23"))

    assert (amount, refusal) == (Decimal("6.46"), None) and adjustment_id is not None  # 10% of 64.55
    assert late_penalties_posted() == [(Decimal("6.46"),)]


def test_a_monthly_penalty_is_taken_of_no_more_than_billings_own_past_due_balance(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    paid(rpc, "14.55", "2026-02-10")  # 50.00 left past due
    rpc.billing.set_business_date("2026-03-24")

    amount, _, refusal = assessed(publish, penalty_request(
        bill_id, "monthly", account_id="A0000003", request_id="LP-A0000003-2026-03", assessed_on="2026-03-24",
        current_charges="0.00", past_due="64.55", months=1))

    assert (amount, refusal) == (Decimal("0.50"), None)  # 1% of 50.00, not of the 64.55 asked
    [envelope] = outbox("billing.adjustment_posted.v1")
    assert "past-due balance 50.00 (asked: 64.55)" in open_envelope(envelope)[1]["reason"]


def test_a_monthly_penalty_with_nothing_past_due_in_billings_ledger_is_refused(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    paid(rpc, "64.55", "2026-03-02")  # late, but paid before the monthly penalty's day
    rpc.billing.set_business_date("2026-03-24")

    amount, _, refusal = assessed(publish, penalty_request(
        bill_id, "monthly", account_id="A0000003", request_id="LP-A0000003-2026-03", assessed_on="2026-03-24",
        current_charges="0.00", past_due="64.55", months=1))

    assert (amount, refusal) == (Decimal("0.00"), "nothing past due on 2026-03-24")
    assert late_penalties_posted() == [] and outbox("billing.adjustment_posted.v1") == []


def test_a_check_received_by_the_due_date_but_posted_after_the_penalty_reverses_it_once(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    rpc.billing.set_business_date("2026-02-23")
    amount, penalty_id, _ = assessed(publish, penalty_request(bill_id, account_id="A0000003", assessed_on="2026-02-23"))
    assert amount == Decimal("6.46")
    rpc.billing.set_business_date("2026-02-25")

    paid(rpc, "64.55", "2026-02-20")  # in the lockbox on the 20th, keyed in on the 25th
    paid(rpc, "5.00", "2026-02-25")  # a later payment reverses nothing more

    assert query("select kind, amount, request_id, bill_id from adjustments order by adjustment_id") == [
        ("late_penalty", Decimal("6.46"), f"LP-{bill_id}-basic", bill_id),
        ("credit", Decimal("-6.46"), f"{penalty_id}-reversal", bill_id)]
    assert query("select sum(amount) from ledger_entries")[0][0] == Decimal("-5.00")  # only the 5.00 in credit
    credit = [open_envelope(e)[1] for e in outbox("billing.adjustment_posted.v1")][-1]
    assert (credit["kind"], credit["amount"], credit["balance_due"]) == ("credit", Decimal("-6.46"), Decimal("0.00"))
    assert f"bill {bill_id} was paid by 2026-02-22" in credit["reason"]


def test_a_check_received_after_the_due_date_leaves_the_penalty(running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    rpc.billing.set_business_date("2026-02-23")
    assessed(publish, penalty_request(bill_id, account_id="A0000003", assessed_on="2026-02-23"))

    paid(rpc, "64.55", "2026-02-23")

    assert query("select kind, amount from adjustments") == [("late_penalty", Decimal("6.46"))]


def test_a_monthly_penalty_with_nothing_past_due_by_the_payments_received_is_reversed(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill_id = january_bill_of_64_55(rpc, publish, metering)
    paid(rpc, "14.55", "2026-02-10")
    rpc.billing.set_business_date("2026-03-24")
    assessed(publish, penalty_request(bill_id, "monthly", account_id="A0000003", request_id="LP-A0000003-2026-03",
                                      assessed_on="2026-03-24", current_charges="0.00", past_due="50.00", months=1))

    paid(rpc, "50.00", "2026-03-20")  # received before the monthly penalty's day, posted after it

    assert query("select kind, amount from adjustments order by adjustment_id") == [
        ("late_penalty", Decimal("0.50")), ("credit", Decimal("-0.50"))]
