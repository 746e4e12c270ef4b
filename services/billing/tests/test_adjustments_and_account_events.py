"""Billing's accounts view from accounts' events, staff adjustments and the explained statement,
through the entrypoints on real RabbitMQ and PostgreSQL."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get as contract
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound
from cis_runtime.testing import dead_letters, wait_for

from test_billing_service import (PERIOD, metering, open_accounts, outbox, query,  # noqa: F401 (fixture)
                                  run_to_completion, start_billing)
from test_tariff_service import only_the_adopted_demo_tariff  # noqa: F401 (autouse: tariffs loaded here go)

ATTRIBUTES_CHANGED = contract("accounts.account_attributes_changed.v1").examples()[0]


def attributes_changed(account_id: str, revision: int, **changes) -> dict:
    return {**ATTRIBUTES_CHANGED, "account_id": account_id, "revision": revision, **changes}


def attributes_of(account_id: str):
    return query("select dwelling_units, attributes, attributes_revision from accounts where account_id = :a",
                 a=account_id)[0]


# --- accounts view --------------------------------------------------------------------------

def test_attribute_changes_are_kept_and_an_older_revision_is_ignored(running_services, publish):
    start_billing(running_services)
    open_accounts(publish, "A0000001")
    with_winter_average = "update accounts set attributes = '{\"winter_average\": \"7\"}'"
    query_and_commit(with_winter_average)

    publish("accounts.account_attributes_changed.v1", attributes_changed(
        "A0000001", 2, dwelling_units=3, residents=4, landscape_area_sqft="1800.5", budget_variance="3",
        budget_variance_reason="Medical needs", fire_line_size="6"))
    wait_for(lambda: attributes_of("A0000001")[2] == 2, message="revision 2 applied")
    publish("accounts.account_attributes_changed.v1", attributes_changed("A0000001", 1, dwelling_units=1,
                                                                         residents=9))
    wait_for(lambda: query("select count(*) from inbox where consumer = 'billing.on_account_attributes_changed'")
             [0][0] == 2, message="revision 1 consumed")

    units, attributes, revision = attributes_of("A0000001")
    assert (units, revision) == (3, 2)
    assert attributes == {"residents": 4, "landscape_area_sqft": "1800.5", "budget_variance": "3",
                          "budget_variance_reason": "Medical needs", "fire_line_size": "6",
                          "winter_average": "7"}  # winter average is not accounts' to send: kept
    assert dead_letters("billing.on_account_attributes_changed") == []


def test_an_attribute_change_clears_what_accounts_no_longer_holds(running_services, publish):
    start_billing(running_services)
    open_accounts(publish, "A0000001")
    publish("accounts.account_attributes_changed.v1", attributes_changed("A0000001", 1))
    wait_for(lambda: attributes_of("A0000001")[2] == 1, message="revision 1 applied")
    publish("accounts.account_attributes_changed.v1", attributes_changed(
        "A0000001", 2, residents=None, landscape_area_sqft=None, budget_variance=None, budget_variance_reason=None))
    wait_for(lambda: attributes_of("A0000001")[2] == 2, message="revision 2 applied")
    assert attributes_of("A0000001")[1] == {}


def test_every_attributes_changed_example_is_accepted(running_services, publish):
    start_billing(running_services)
    examples = contract("accounts.account_attributes_changed.v1").examples()
    open_accounts(publish, *{e["account_id"] for e in examples})
    for example in examples:
        publish("accounts.account_attributes_changed.v1", example)
    for example in examples:
        wait_for(lambda: attributes_of(example["account_id"])[2] == example["revision"],
                 message=f"{example['account_id']} revision {example['revision']}")
    assert dead_letters("billing.on_account_attributes_changed") == []


def test_a_closed_account_is_left_out_of_later_bill_runs(running_services, rpc, publish, metering):
    start_billing(running_services)
    open_accounts(publish, "A0000001", "A0000002")
    closed = contract("accounts.account_closed.v1").examples()[0]
    publish("accounts.account_closed.v1", {**closed, "account_id": "A0000002", "closed_on": "2026-02-27"})
    wait_for(lambda: query("select status, closed_on from accounts where account_id = 'A0000002'")[0] ==
             ("closed", date(2026, 2, 27)), message="billing to close its view of A0000002")
    metering({"A0000001": "12", "A0000002": "5"})

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    assert (run["accounts_total"], run["bills_issued"]) == (1, 1)
    assert query("select account_id from bills") == [("A0000001",)]
    assert dead_letters("billing.on_account_closed") == []


def test_an_event_for_an_account_billing_has_not_seen_opened_is_retried_then_dead_lettered(
        running_services, publish):
    start_billing(running_services)
    publish("accounts.account_closed.v1", contract("accounts.account_closed.v1").examples()[0])
    letters = wait_for(lambda: dead_letters("billing.on_account_closed"), message="the dead letter")
    [(headers, _)] = letters
    assert "has not been opened in billing yet" in headers["x-cis-error"]
    assert int(headers["x-cis-attempt"]) == 3  # CIS_MAX_DELIVERY_ATTEMPTS in tests


# --- staff adjustments ----------------------------------------------------------------------

def billed_account(rpc, publish, metering, business_date="2026-04-02") -> dict:
    rpc.billing.set_business_date(business_date)
    open_accounts(publish, "A0000001")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    return rpc.billing.account_statement_v2("A0000001")["bills"][0]


def test_a_staff_credit_lowers_the_balance_and_is_announced_the_bill_unchanged(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    bill = billed_account(rpc, publish, metering)
    rpc.billing.set_business_date("2026-04-20")

    credit = rpc.billing.post_adjustment({
        "account_id": "A0000001", "kind": "credit", "amount": "25.00", "reason_code": "leak_adjustment",
        "note": "Leak repaired 2026-04-10", "posted_by": "jlopez", "bill_id": bill["bill_id"]})

    assert (credit["amount"], credit["balance_due"], credit["posted_on"]) == ("-25.00", "39.55", "2026-04-20")
    assert credit["lines"] == [{"description": "Leak repaired 2026-04-10", "amount": "-25.00",
                                "rule": "leak_adjustment"}]
    [envelope] = outbox("billing.adjustment_posted.v1")
    _, posted = open_envelope(envelope)
    assert (posted["adjustment_id"], posted["kind"], posted["amount"], posted["reference"], posted["balance_due"]) == (
        credit["adjustment_id"], "credit", Decimal("-25.00"), "leak_adjustment", Decimal("39.55"))
    statement = rpc.billing.account_statement_v2("A0000001")
    assert statement["balance"] == "39.55"
    assert statement["bills"][0]["total"] == "64.55"  # bills are immutable
    [shown] = statement["adjustments"]
    assert (shown["kind"], shown["amount"], shown["posted_by"], shown["bill_id"]) == (
        "credit", "-25.00", "jlopez", bill["bill_id"])
    assert query("select kind, amount, reference from ledger_entries where kind <> 'bill'") == [
        ("credit", Decimal("-25.00"), credit["adjustment_id"])]


def test_a_retried_staff_adjustment_posts_once(running_services, rpc, publish, metering):
    start_billing(running_services)
    billed_account(rpc, publish, metering)
    request = {"account_id": "A0000001", "kind": "debit", "amount": "35.00", "reason_code": "returned_payment",
               "note": "Check returned NSF", "posted_by": "jlopez", "request_id": "NSF-CHK-1042"}

    first = rpc.billing.post_adjustment(request)
    again = rpc.billing.post_adjustment(request)

    assert again["adjustment_id"] == first["adjustment_id"] and again["balance_due"] == "99.55"
    assert len(outbox("billing.adjustment_posted.v1")) == 1
    with pytest.raises(Conflict):
        rpc.billing.post_adjustment({**request, "amount": "36.00"})
    assert query("select count(*) from adjustments")[0][0] == 1


def test_bad_adjustments_name_the_field_and_post_nothing(running_services, rpc, publish, metering):
    start_billing(running_services)
    billed_account(rpc, publish, metering)
    good = {"account_id": "A0000001", "kind": "credit", "amount": "5.00", "reason_code": "courtesy",
            "note": "Goodwill", "posted_by": "jlopez"}
    for change, field in [({"amount": "0"}, "amount"), ({"amount": -5}, "amount"), ({"kind": "refund"}, "kind"),
                          ({"reason_code": "because"}, "reason_code"), ({"note": ""}, "note"),
                          ({"posted_by": None}, "posted_by"), ({"bill_id": "B9999999"}, "bill_id")]:
        with pytest.raises(InvalidInput) as error:
            rpc.billing.post_adjustment({**good, **change})
        assert field in error.value.args[0], change
    with pytest.raises(NotFound):
        rpc.billing.post_adjustment({**good, "account_id": "A9999999"})
    assert query("select count(*) from adjustments")[0][0] == 0
    assert outbox("billing.adjustment_posted.v1") == []


# --- the explained statement ----------------------------------------------------------------

def test_statement_v2_carries_why_each_line_is_that_amount(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.load_tariff({"document": MULTI_FAMILY_MID_MONTH})
    open_accounts(publish, "A0000001", opened_on="2026-03-01")
    publish("accounts.account_attributes_changed.v1", attributes_changed("A0000001", 1, dwelling_units=2))
    wait_for(lambda: attributes_of("A0000001")[2] == 1, message="two dwelling units")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))

    statement = rpc.billing.account_statement_v2("A0000001")

    [bill] = statement["bills"]
    explained = [(l["tariff"], l["charge"], shown(l["quantity"]), l["rate"], l["amount"], shown(l["tier_from"]),
                  shown(l["tier_to"]), l["days"], l["proration"]) for l in bill["lines"]]
    # residential@1 until March 16, residential@2 (tiers of 4 HCF per dwelling unit) from March 17
    assert explained == [
        ("residential@1", "charges[0]", "0.516129", "20.75", "10.71", None, None, 16, "16/31 days"),
        ("residential@1", "charges[1]", "6", "3.65", "21.90", None, None, 16, None),
        ("residential@2", "charges[0]", "0.483871", "20.75", "10.04", None, None, 15, "15/31 days"),
        ("residential@2", "charges[1]", "3.870968", "3.65", "14.13", "0", "3.870968", 15, None),
        ("residential@2", "charges[1]", "2.129032", "6.17", "13.14", "3.870968", None, 15, None)]
    assert bill["total"] == "69.92" == str(sum(Decimal(l["amount"]) for l in bill["lines"]))


def shown(quantity: str | None) -> str | None:
    """A quantity to 6 places, as the page shows it (tier bounds prorated by days are stored exact)."""
    return None if quantity is None else format(Decimal(quantity).quantize(Decimal("0.000001")).normalize(), "f")


def query_and_commit(sql: str) -> None:
    with engine_for("billing").begin() as db:
        db.execute(sa.text(sql))


MULTI_FAMILY_MID_MONTH = {
    "tariff_id": "residential", "version": 2, "effective_from": "2026-03-17",
    "adopted_by": "Board Resolution 2026-07 (test)", "name": "Residential, tiers per dwelling unit",
    "customer_classes": ["residential"], "meter_sizes": ["5/8"], "billing_unit": "HCF",
    "rounding": {"consumption": {"increment": "1", "mode": "down"}},
    "penalties": {"percent_of_current": "10", "monthly_percent_of_past_due": "1"},
    "charges": [
        {"rule": "fixed_by_meter_size", "description": "Monthly service charge, {meter_size}\" meter",
         "per": "month", "rates": {"5/8": "20.75"}},
        {"rule": "tiered", "description": "Water usage", "tier_width": {"per_dwelling_unit": True},
         "tiers": [{"upto": "4", "rate": "3.65"}, {"rate": "6.17"}]}],
}
