"""The collections timeline in the running service: account facts in, engine on the business clock,
notices and work orders out through the outbox, staff decisions through RPC."""
from decimal import Decimal

import pytest

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get
from cis_runtime.errors import InvalidInput
from cis_runtime.testing import wait_for
from test_collections_service import PAYMENT_POSTED, payment_posted, query, receive_bill

ACCOUNT_OPENED = "accounts.account_opened.v1"
COLLECTION_NOTICE = "collections.collection_notice_requested.v1"
SHUTOFF_ORDERED = "collections.shutoff_ordered.v1"
RECONNECT_ORDERED = "collections.reconnect_ordered.v1"


def outbox(name: str) -> list[dict]:
    rows = query("select envelope from outbox where message_name = :n order by id", n=name)
    return [open_envelope(envelope)[1] for (envelope,) in rows]


def open_account(publish, **changes):
    payload = dict(get(ACCOUNT_OPENED).examples()[0])
    payload.update(account_id="A0000001", **changes)
    publish(ACCOUNT_OPENED, payload)
    wait_for(lambda: query("select apn from collection_accounts where account_id = 'A0000001'") == [
        (payload["apn"],)], message="account facts recorded")
    return payload


def run_on(collections, *days):
    for day in days:
        collections.set_business_date(day)
        collections.run_daily()


@pytest.fixture
def collections(running_services, rpc):
    running_services("collections")
    rpc.collections.set_business_date("2026-04-02")
    return rpc.collections


def test_hsc_116908_shutoff_notice_with_occupant_copy_then_48_hour_notice_shutoff_and_reconnection(
        collections, publish):
    open_account(publish)  # mailing address PO Box 112 differs from the service address
    receive_bill(publish)  # 64.55 issued 2 April, due 23 April
    run_on(collections, "2026-04-24", "2026-05-26")
    notice, occupant = outbox(COLLECTION_NOTICE)
    assert (notice["kind"], notice["addressee"], notice["address"]) == (
        "shutoff_notice", "Ana Reyes", "PO Box 112, Ojai, CA 93024")
    assert (occupant["kind"], occupant["addressee"], occupant["address"]) == (
        "occupant_notice", "Occupant", "12 Orchard Ln, Ojai, CA 93023")
    assert notice["shutoff_on"].isoformat() == "2026-06-23" and notice["amount_delinquent"] == Decimal("64.55")
    assert notice["rule"]["citation"].startswith("H&S 116908")

    status = collections.collections_status("A0000001")
    assert status["shutoff_on"] == "2026-06-23"
    assert [(r["code"], r["citation"]) for r in status["shutoff_set_by"]] == [
        ("min_60_days_delinquent", "H&S 116908(a)(1)(A)")]
    assert [(u["kind"], u["on"]) for u in status["upcoming"]][:1] == [("contact_attempt", "2026-06-17")]

    collections.set_business_date("2026-06-17")
    worklist = collections.worklist("2026-06-17")
    assert [(i["kind"], i["rule"]["citation"]) for i in worklist["items"]] == [
        ("contact_attempt", "Gov. Code 60373; H&S 116908(a)(2)")]
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": False})
    run_on(collections, "2026-06-17", "2026-06-18", "2026-06-22", "2026-06-23")
    assert [n["kind"] for n in outbox(COLLECTION_NOTICE)][2:] == ["forty_eight_hour_notice"]
    [order] = outbox(SHUTOFF_ORDERED)
    assert (order["work"], order["scheduled_on"].isoformat(), order["apn"]) == (
        "seal_and_lock_meter", "2026-06-23", "011-222-333")

    # the customer pays that morning: the reconnect order goes out at once
    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-06-23"))
    wait_for(lambda: outbox(RECONNECT_ORDERED), message="reconnect ordered")
    [reconnect] = outbox(RECONNECT_ORDERED)
    assert (reconnect["shutoff_order_id"], reconnect["reason"], reconnect["work"]) == (
        order["order_id"], "paid", "unseal_meter")
    assert query("select kind, rule_code from collection_actions where kind in ('shutoff', 'reconnect') "
                 "order by action_id") == [("shutoff", "min_60_days_delinquent"), ("reconnect", "reconnection")]
    # H&S 116918: the shutoff counts in the year's report even though service was restored the same day
    assert collections.discontinuation_count(2026) == {"year": 2026, "residential_discontinuations_for_nonpayment": 1}
    assert collections.discontinuation_count(2025)["residential_discontinuations_for_nonpayment"] == 0


def test_gov_60372_an_appeal_recorded_the_day_before_shutoff_blocks_it(collections, publish):
    open_account(publish)
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    collections.set_business_date("2026-06-22")
    status = collections.record_appeal({"account_id": "A0000001"})
    assert [b["rule"]["citation"] for b in status["blocked_by"]] == ["H&S 116908; Gov. Code 60372"]
    assert status["shutoff_on"] is None
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": True, "attempted_on": "2026-06-17"})
    run_on(collections, "2026-06-23", "2026-06-24")
    assert outbox(SHUTOFF_ORDERED) == []


def test_gov_60372_payment_plan_over_at_most_12_months_and_staff_errors_name_the_field(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-05-01")
    with pytest.raises(InvalidInput) as error:
        collections.agree_payment_plan({"account_id": "A0000001", "months": 13, "first_due_on": "2026-05-15"})
    assert "months" in str(error.value)
    status = collections.agree_payment_plan({"account_id": "A0000001", "months": 3, "first_due_on": "2026-05-15"})
    assert [b["rule"]["code"] for b in status["blocked_by"]] == ["payment_plan_in_good_standing"]
    assert query("select amount::text from plan_installments order by seq") == [("21.52",), ("21.52",), ("21.51",)]
    with pytest.raises(InvalidInput) as error:
        collections.grant_extension({"account_id": "A0000001", "until": "2026-04-01"})
    assert "until" in str(error.value)


def test_gov_54984_9_lien_recorded_per_apn_and_released_when_paid_in_full(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-08-01")
    recorded = collections.record_liens({"min_days_delinquent": 90})["liens"]
    assert [(lien["apn"], lien["owner_of_record"], lien["amount"]) for lien in recorded] == [
        ("011-222-333", "Ana Reyes", "64.55")]
    assert collections.record_liens({"min_days_delinquent": 90})["liens"] == recorded  # one open lien per APN
    [event] = outbox("collections.lien_recorded.v1")
    assert (event["apn"], event["amount"]) == ("011-222-333", Decimal("64.55"))

    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-08-03"))
    wait_for(lambda: query("select paid from receivables where bill_id = 'B0000002'") == [(Decimal("64.55"),)],
             message="payment applied")
    run_on(collections, "2026-08-03")
    [released] = outbox("collections.lien_released.v1")
    assert (released["lien_id"], released["released_on"].isoformat()) == (recorded[0]["lien_id"], "2026-08-03")


def test_hsc_5473_delinquent_list_hearing_workflow_and_auditor_file(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-07-01")
    listed = collections.prepare_delinquent_list({"tax_year": 2026, "as_of": "2026-07-01", "min_days_delinquent": 60})
    assert [(i["apn"], i["owner_of_record"], i["amount"], i["roll"]) for i in listed["items"]] == [
        ("011-222-333", "Ana Reyes", "64.55", "secured")]
    with pytest.raises(InvalidInput) as error:
        collections.delinquent_list_step({"tax_year": 2026, "step": "notice", "mailed_on": "2026-07-15",
                                          "published_on": ["2026-07-10", "2026-07-17"], "hearing_on": "2026-07-21"})
    assert "mailed_on" in str(error.value) and "published_on" in str(error.value)
    steps = get("collections.delinquent_list_step_request.v1").examples()
    for step in steps[:3]:
        listed = collections.delinquent_list_step(step)
    assert listed["status"] == "heard" and listed["items"][0]["adjusted_amount"] == "80.00"
    listed = collections.delinquent_list_step(steps[3])
    assert listed["status"] == "filed"
    assert listed["auditor_file"] == ("tax_year,apn,owner_of_record,amount,roll\n"
                                      "2026,011-222-333,Ana Reyes,80.00,secured\n")


def test_hsc_116916_a_landlord_of_record_on_a_multi_unit_parcel_gets_tenant_notices(collections, publish):
    open_account(publish, dwelling_units=4)  # the owner of record is the customer of a 4-unit parcel
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    tenant = [n for n in outbox(COLLECTION_NOTICE) if n["kind"] == "tenant_notice"]
    assert [(n["addressee"], n["address"], n["may_become_customer_without_arrears"]) for n in tenant] == [
        ("Residential occupants", "12 Orchard Ln, Ojai, CA 93023", True)]
    assert tenant[0]["rule"]["citation"] == "H&S 116916; Gov. Code 60371"


def test_staff_calls_name_the_bad_field_and_unknown_accounts_are_not_found(collections, publish):
    from cis_runtime.errors import NotFound
    with pytest.raises(NotFound):
        collections.collections_status("A9999999")
    with pytest.raises(InvalidInput) as error:
        collections.worklist("June 17")
    assert "business_date" in str(error.value)
    with pytest.raises(InvalidInput) as error:
        collections.record_contact_attempt({"account_id": "A0000001"})
    assert "reached_adult" in str(error.value)
