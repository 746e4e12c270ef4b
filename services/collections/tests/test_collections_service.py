"""Collections on real RabbitMQ and PostgreSQL: bills and payments in, delinquency and notices out."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from nameko.timer import timer

from cis_collections.adapters.models import Base
from cis_collections.service import Service
from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import InvalidInput
from cis_runtime.testing import wait_for

BILL_ISSUED = "billing.bill_issued.v1"
BILL_DELIVERED = "notifications.bill_delivered.v1"
PAYMENT_POSTED = "billing.payment_posted.v1"
NOTICE_REQUESTED = "collections.notice_requested.v1"


def bill_issued(bill_id="B0000002", account_id="A0000001", total="64.55", issued_on="2026-04-02",
                due_on="2026-04-23"):
    payload = dict(get(BILL_ISSUED).examples()[0])
    payload.update(bill_id=bill_id, account_id=account_id, total=total, balance_due=total,
                   issued_on=issued_on, due_on=due_on)
    return payload


def payment_posted(payment_id="P0000004", account_id="A0000001", amount="64.55", received_on="2026-04-30"):
    return {"payment_id": payment_id, "account_id": account_id, "amount": amount, "received_on": received_on,
            "balance_after": "0.00"}


def query(sql: str, **params):
    with engine_for("collections").connect() as db:
        return db.execute(sa.text(sql), params).all()


def paid_on(bill_id: str) -> Decimal | None:
    rows = query("select paid from receivables where bill_id = :b", b=bill_id)
    return rows[0][0] if rows else None


def has_payment(payment_id: str) -> bool:
    return bool(query("select 1 from payments where payment_id = :p", p=payment_id))


def notices_in_outbox() -> list[dict]:
    rows = query("select envelope from outbox where message_name = :n order by id", n=NOTICE_REQUESTED)
    return [open_envelope(envelope)[1] for (envelope,) in rows]  # open_envelope checks the contract


def delivered_on(bill_id: str):
    rows = query("select delivered_on::text from receivables where bill_id = :b", b=bill_id)
    return rows[0][0] if rows else None


def deliver_bill(publish, bill: dict, on: str | None = None, channel: str = "mail"):
    """What notifications reports once the bill is mailed (or emailed to a paperless customer)."""
    on = on or bill["issued_on"]
    publish(BILL_DELIVERED, {"delivery_id": f"{bill['bill_id']}-bill", "bill_id": bill["bill_id"],
                             "account_id": bill["account_id"], "channel": channel, "delivered_on": on,
                             "addressee": "Ana Reyes", "address": "PO Box 112, Ojai, CA 93024", "document": None})
    wait_for(lambda: delivered_on(bill["bill_id"]) == on, message=f"bill {bill['bill_id']} delivery recorded")


def receive_bill(publish, delivered: bool = True, **bill):
    """Billing issues the bill and (unless delivered=False) notifications mails it the same day."""
    payload = bill_issued(**bill)
    publish(BILL_ISSUED, payload)
    wait_for(lambda: paid_on(payload["bill_id"]) is not None, message=f"bill {payload['bill_id']} recorded")
    if delivered:
        deliver_bill(publish, payload)
    return payload


@pytest.fixture
def collections(running_services, rpc):
    running_services("collections")
    rpc.collections.set_business_date("2026-04-02")
    return rpc.collections


def test_a_bill_unpaid_after_its_due_date_makes_the_account_delinquent_and_requests_one_past_due_notice(
        collections, publish):
    receive_bill(publish)
    assert collections.run_daily()["notices_requested"] == 0  # not yet due: nothing to say

    collections.set_business_date("2026-04-24")
    run = collections.run_daily()

    assert run == {"business_date": "2026-04-24", "run_number": 1, "accounts_assessed": 1, "newly_delinquent": 1,
                   "notices_requested": 1, "actions_taken": 2, "accounts_deferred": 0, "deferred": [],
                   "accounts_failed": []}  # the reminder and the basic penalty request
    status = collections.account_status("A0000001")
    assert (status["status"], status["past_due_amount"], status["delinquent_since"]) == (
        "delinquent", "64.55", "2026-04-24")
    [notice] = notices_in_outbox()
    assert notice["account_id"] == "A0000001" and notice["kind"] == "past_due"
    assert (notice["amount_past_due"], notice["bill_ids"]) == (Decimal("64.55"), ["B0000002"])
    assert (notice["oldest_due_on"].isoformat(), notice["requested_on"].isoformat()) == ("2026-04-23", "2026-04-24")
    assert status["notices_requested"] == [{"notice_id": notice["notice_id"], "kind": "past_due",
                                            "requested_on": "2026-04-24", "amount_past_due": "64.55"}]


def test_the_daily_run_may_run_again_the_same_day_and_a_bill_is_noticed_once(collections, publish):
    receive_bill(publish)
    collections.set_business_date("2026-04-24")
    first = collections.run_daily()
    again = collections.run_daily()
    assert (first["run_number"], first["notices_requested"], first["actions_taken"]) == (1, 1, 2)
    assert (again["run_number"], again["notices_requested"], again["actions_taken"]) == (2, 0, 0)
    collections.set_business_date("2026-04-25")
    next_day = collections.run_daily()
    assert (next_day["accounts_assessed"], next_day["newly_delinquent"], next_day["notices_requested"]) == (1, 0, 0)
    assert len(notices_in_outbox()) == 1
    assert collections.account_status("A0000001")["delinquent_since"] == "2026-04-24"


def test_a_new_past_due_bill_gets_its_own_notice_naming_the_whole_past_due_amount(collections, publish):
    receive_bill(publish, bill_id="B1", total="60.00", due_on="2026-03-23", issued_on="2026-03-02")
    collections.set_business_date("2026-03-24")
    collections.run_daily()
    receive_bill(publish, bill_id="B2", total="40.00", due_on="2026-04-23")
    collections.set_business_date("2026-04-24")
    assert collections.run_daily()["notices_requested"] == 1
    first, second = notices_in_outbox()
    assert first["bill_ids"] == ["B1"]
    assert (second["bill_ids"], second["amount_past_due"], second["oldest_due_on"].isoformat()) == (
        ["B2"], Decimal("100.00"), "2026-03-23")


def test_paying_everything_past_due_clears_the_delinquency(collections, publish):
    receive_bill(publish)
    collections.set_business_date("2026-04-24")
    collections.run_daily()
    collections.set_business_date("2026-04-30")

    publish(PAYMENT_POSTED, payment_posted(amount="64.55"))

    wait_for(lambda: collections.account_status("A0000001")["status"] == "current", message="delinquency cleared")
    status = collections.account_status("A0000001")
    assert (status["past_due_amount"], status["delinquent_since"]) == ("0.00", None)
    assert query("select cleared_on::text from collection_accounts where account_id = 'A0000001'") == [
        ("2026-04-30",)]


def test_a_partial_payment_pays_the_oldest_bill_first_and_the_account_stays_delinquent(collections, publish):
    receive_bill(publish, bill_id="B1", total="60.00", due_on="2026-03-23", issued_on="2026-03-02")
    receive_bill(publish, bill_id="B2", total="40.00", due_on="2026-04-23")
    collections.set_business_date("2026-04-24")
    collections.run_daily()

    publish(PAYMENT_POSTED, payment_posted(amount="70.00"))

    wait_for(lambda: has_payment("P0000004"), message="payment applied")
    assert (paid_on("B1"), paid_on("B2")) == (Decimal("60.00"), Decimal("10.00"))
    status = collections.account_status("A0000001")
    assert (status["status"], status["past_due_amount"]) == ("delinquent", "30.00")


def test_a_payment_before_the_bill_is_kept_as_credit_and_pays_the_bill(collections, publish):
    publish(PAYMENT_POSTED, payment_posted(amount="100.00"))
    wait_for(lambda: has_payment("P0000004"), message="payment recorded")
    receive_bill(publish, total="64.55")
    assert paid_on("B0000002") == Decimal("64.55")
    assert query("select credit from collection_accounts") == [(Decimal("35.45"),)]


def test_a_redelivered_payment_is_applied_once(collections, publish):
    receive_bill(publish, total="64.55")
    envelope = publish(PAYMENT_POSTED, payment_posted(amount="20.00"))
    wait_for(lambda: has_payment("P0000004"), message="first delivery applied")
    publish(PAYMENT_POSTED, envelope=envelope)  # the relay or the broker delivering it again
    publish(PAYMENT_POSTED, payment_posted(payment_id="P0000005", amount="1.00"))
    wait_for(lambda: has_payment("P0000005"), message="later payment applied")
    assert paid_on("B0000002") == Decimal("21.00")
    assert query("select count(*) from inbox where message_id = :m", m=envelope["message_id"]) == [(1,)]


def test_the_consumers_accept_every_billing_contract_example(collections, publish):
    bills, payments = get(BILL_ISSUED).examples(), get(PAYMENT_POSTED).examples()
    assert bills and payments
    for example in bills:
        publish(BILL_ISSUED, example)
    for example in payments:
        publish(PAYMENT_POSTED, example)
    for example in bills:
        wait_for(lambda: paid_on(example["bill_id"]) is not None, message=f"example bill {example['bill_id']}")
    for example in payments:
        wait_for(lambda: has_payment(example["payment_id"]), message=f"example payment {example['payment_id']}")


def test_an_account_never_billed_is_current(collections):
    assert collections.account_status("A9999999") == {
        "account_id": "A9999999", "status": "current", "past_due_amount": "0.00", "delinquent_since": None,
        "notices_requested": []}
    with pytest.raises(InvalidInput):
        collections.account_status("")


class QuickPollCollections(Service):
    """The collections service with its daily-run poll at 0.2 s instead of CIS_COLLECTIONS_POLL_SECONDS."""

    @timer(interval=0.2)
    def daily_run_when_due(self):
        super().daily_run_when_due()


def test_the_poll_runs_the_daily_assessment_by_itself_once_the_business_date_moves(service_db, rpc, publish):
    from nameko.runners import ServiceRunner

    from cis_runtime import config
    from cis_runtime.clock import BusinessClock

    with service_db("collections")() as uow:
        BusinessClock(uow.session).set(date(2026, 4, 2))
        uow.commit()
    from billing_fake import FakeBilling

    runner = ServiceRunner(config.nameko_config("collections"))
    runner.add_service(QuickPollCollections)
    runner.add_service(FakeBilling)
    runner.start()
    try:
        wait_for(lambda: query("select 1 from daily_runs"), message="the first poll's run")
        receive_bill(publish)
        rpc.collections.set_business_date("2026-04-24")
        wait_for(lambda: notices_in_outbox(), message="notice requested by the poll")
        assert query("select business_date::text, newly_delinquent, notices_requested from daily_runs "
                     "order by business_date") == [("2026-04-02", 0, 0), ("2026-04-24", 1, 1)]
    finally:
        runner.stop()


def test_the_migrations_create_exactly_the_models_tables(service_db):
    engine = service_db("collections").engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_account_id_with_a_nul_or_a_megabyte_long_is_refused_naming_the_field(collections):
    for call in (collections.account_status, collections.collections_status):  # issue 10: a NUL was a 500
        for account_id in ("A\x00", "A" * 1_000_000, 7):
            with pytest.raises(InvalidInput) as error:
                call(account_id)
            assert "account_id" in error.value.args[0]
