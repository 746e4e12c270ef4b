"""Reconnection fees reach the ledger: collections charges the fee once operations reports the meter unsealed,
billing posts it as a 'fee' adjustment, and collections records what billing posted. Both services run on real
RabbitMQ and PostgreSQL."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import dead_letters, wait_for
from test_collections_service import PAYMENT_POSTED, payment_posted, query, receive_bill
from test_collections_timeline_service import (COLLECTION_NOTICE, RECONNECT_ORDERED, SHUTOFF_ORDERED, mail_house_mails,
                                               open_account, operations_reports, outbox, run_on)

FEE_ASSESSED = "collections.fee_assessed.v1"


def billing_query(sql: str, **params):
    with engine_for("billing").connect() as db:
        return db.execute(sa.text(sql), params).all()


@pytest.fixture
def services(running_services, rpc):
    running_services("collections", "billing")
    for service in (rpc.collections, rpc.billing):
        service.set_business_date("2026-04-02")
    return rpc


def shut_off_then_paid(rpc, publish, shutoff_done_at: str) -> dict:
    """The 2026 story: bill due 23 April, notice mailed 26 May, adult reached, meter locked 23 June, paid."""
    open_account(publish, mailing_address=dict(get("accounts.account_opened.v1").examples()[0]["service_address"]))
    wait_for(lambda: billing_query("select count(*) from accounts where account_id = 'A0000001'") == [(1,)],
             message="billing knows the account")
    receive_bill(publish)
    run_on(rpc.collections, "2026-04-24", "2026-05-26")
    mail_house_mails(publish, *outbox(COLLECTION_NOTICE), on="2026-05-26")
    rpc.collections.set_business_date("2026-06-17")
    rpc.collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": True})
    run_on(rpc.collections, "2026-06-23")
    [shutoff] = outbox(SHUTOFF_ORDERED)
    operations_reports(publish, shutoff["order_id"], "shutoff", shutoff_done_at)
    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-06-23"))
    wait_for(lambda: outbox(RECONNECT_ORDERED), message="reconnect ordered")
    [reconnect] = outbox(RECONNECT_ORDERED)
    return reconnect


def fee_posted_by_billing() -> list[tuple]:
    return billing_query("select kind, amount, reference, posted_by from adjustments order by adjustment_id")


def test_hsc_116912_a_reconnection_done_in_operating_hours_charges_the_normal_fee_once_through_billing(
        services, publish):
    reconnect = shut_off_then_paid(services, publish, "2026-06-23T09:15:00-07:00")
    assert reconnect["reconnection_fee_normal_hours"] == Decimal("75.00")
    assert outbox(FEE_ASSESSED) == []  # nothing is charged for a reconnect not yet carried out

    services.billing.set_business_date("2026-06-23")
    operations_reports(publish, reconnect["order_id"], "reconnect", "2026-06-23T15:40:00-07:00")  # Tuesday
    [fee] = outbox(FEE_ASSESSED)
    assert (fee["request_id"], fee["kind"], fee["amount"], fee["after_hours"], fee["assessed_on"].isoformat(),
            fee["rule"]["code"]) == (f"RF-{reconnect['order_id']}", "reconnection", Decimal("75.00"), False,
                                     "2026-06-23", "reconnection_fee")

    wait_for(lambda: fee_posted_by_billing() == [("fee", Decimal("75.00"), fee["request_id"], "collections")],
             message="billing posts the fee")
    [(adjustment_id, balance)] = billing_query(
        "select adjustment_id, (select sum(amount) from ledger_entries) from adjustments")
    assert balance == Decimal("75.00")  # billing never saw the test's bill and payment: the fee alone
    # collections records what billing posted: the order shows it charged, and the fee is owed
    wait_for(lambda: query("select fee_adjustment_id from work_orders where kind = 'reconnect'") == [
        (adjustment_id,)], message="collections records the posted fee")
    assert query("select kind, amount from adjustments") == [("fee", Decimal("75.00"))]
    services.collections.set_business_date("2026-06-24")
    status = services.collections.collections_status("A0000001")
    assert status["past_due_amount"] == "75.00" and status["disconnected"] is False

    # the report redelivered (operations re-publishes it): no second fee anywhere
    operations_reports(publish, reconnect["order_id"], "reconnect", "2026-06-23T15:40:00-07:00")
    wait_for(lambda: query("select count(*) from inbox where consumer = 'collections.on_work_order_completed'") == [
        (3,)], message="the repeat consumed")
    assert len(outbox(FEE_ASSESSED)) == 1 and len(fee_posted_by_billing()) == 1
    # a fee draws no late penalty and starts no shutoff clock
    run_on(services.collections, "2026-06-25", "2026-09-30")
    assert len(outbox(SHUTOFF_ORDERED)) == 1
    assert query("select kind, rule_code, reference from collection_actions where kind = 'reconnection_fee_assessed'"
                 ) == [("reconnection_fee_assessed", "reconnection_fee", fee["request_id"])]
    assert dead_letters("billing.on_fee_assessed") == []


def test_hsc_116914_a1_a_reconnection_on_a_saturday_is_after_hours_and_priced_so(services, publish):
    reconnect = shut_off_then_paid(services, publish, "2026-06-23T09:15:00-07:00")
    services.billing.set_business_date("2026-06-27")
    operations_reports(publish, reconnect["order_id"], "reconnect", "2026-06-27T10:00:00-07:00")  # Saturday
    [fee] = outbox(FEE_ASSESSED)
    assert (fee["amount"], fee["after_hours"]) == (reconnect["reconnection_fee_after_hours"], True)
    assert "after hours" in fee["reason"]
    wait_for(lambda: fee_posted_by_billing() == [("fee", reconnect["reconnection_fee_after_hours"],
                                                  fee["request_id"], "collections")],
             message="billing posts the after-hours fee")


def test_hsc_116912_a_reconnect_the_crew_could_not_carry_out_charges_nothing(services, publish):
    reconnect = shut_off_then_paid(services, publish, "2026-06-23T09:15:00-07:00")
    operations_reports(publish, reconnect["order_id"], "reconnect", "2026-06-23T16:00:00-07:00",
                       outcome="could_not_complete", reason="No access to the meter box")
    assert query("select status, fee_charged, fee_request_id from work_orders where kind = 'reconnect'") == [
        ("could_not_complete", None, None)]
    assert outbox(FEE_ASSESSED) == []


def test_billing_posts_every_fee_assessed_example_once(services, publish):
    open_account(publish)
    wait_for(lambda: billing_query("select count(*) from accounts where account_id = 'A0000001'") == [(1,)],
             message="billing knows the account")
    examples = get(FEE_ASSESSED).examples()
    for example in examples + examples:  # each delivered twice, as new messages
        publish(FEE_ASSESSED, example)
    wait_for(lambda: billing_query("select count(*) from inbox where consumer = 'billing.on_fee_assessed'") == [
        (2 * len(examples),)], message="every delivery consumed")
    # the deliveries are consumed concurrently: compare without their order
    assert sorted((kind, amount) for kind, amount, _, _ in fee_posted_by_billing()) == sorted(
        ("fee", Decimal(example["amount"])) for example in examples)
    posted = [open_envelope(envelope)[1] for (envelope,) in billing_query(
        "select envelope from outbox where message_name = 'billing.adjustment_posted.v1' order by id")]
    assert sorted((p["kind"], p["reference"], str(p["bill_id"])) for p in posted) == sorted(
        ("fee", example["request_id"], "None") for example in examples)
    assert dead_letters("billing.on_fee_assessed") == []
