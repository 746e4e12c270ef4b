"""An account closing (accounts.account_closed.v1): readings already stored past the closing day are
checked for water used with no account, and a requested final read goes to the field as a work order."""
from decimal import Decimal

import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import drain_queue, wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"
OPENED = "accounts.account_opened.v1"
CLOSED = "accounts.account_closed.v1"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc, publish):
    running_services("metering")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A1", connection_id="SC1"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts where account_id = 'A1'"), message="account known")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": "20.00"})


def send(publish, batch_id, start_at, values):
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": start_at, "interval_seconds": 3600, "values": values}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def close(publish, final_read_requested: bool, closed_on="2026-01-10"):
    publish(CLOSED, {"account_id": "A1", "closed_on": closed_on, "reason": "move_out",
                     "final_read_requested": final_read_requested}, producer_name="accounts")
    wait_for(lambda: rows("select status from service_accounts where account_id = 'A1'") == [("closed",)],
             message="closure known")  # earlier tests' events may reach metering too


def test_a_closure_arriving_after_reads_past_the_closing_day_still_raises_the_water_used_since(
        running_services, rpc, publish):
    start(running_services, rpc, publish)
    send(publish, "B-1", "2026-01-10T22:00:00-08:00", ["20.00", "20.00", "20.00", "20.30"])  # into the 11th
    assert rows("select rule from read_exceptions") == []  # the account was open as far as metering knew
    close(publish, final_read_requested=False)
    [(rule, status, value, at_closing)] = rows(
        "select rule, status, value, details->>'reading_at_closing' from read_exceptions")
    assert (rule, status, value, at_closing) == ("read_on_inactive_account", "open", Decimal("20.30"), "20.00")
    send(publish, "B-2", "2026-01-11T02:00:00-08:00", ["20.70"])  # more use: still the one item
    assert rows("select count(*) from read_exceptions where rule = 'read_on_inactive_account'") == [(1,)]


def test_a_requested_final_read_is_a_reread_work_order_with_the_meter_location_holding_the_closing_bill(
        running_services, rpc, publish):
    drain_queue("operations.work_orders")  # the queue outlives earlier tests of this run
    start(running_services, rpc, publish)
    close(publish, final_read_requested=True)
    [(exception_id, rule, status)] = rows("select exception_id, rule, status from read_exceptions")
    assert (rule, status) == ("final_read", "reread_requested")
    [order] = wait_for(lambda: [o["payload"] for o in drain_queue("operations.work_orders")], message="work order")
    assert (order["work"], order["meter_serial"], order["account_id"], order["exception_id"]) == (
        "reread_meter", "M-1", "A1", exception_id)
    assert order["installation"] == '5/8" displacement, manually read' and order["service_address"]
    held = rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                          "account_ids": ["A1"]})["held"]
    assert [h["exception_ids"] for h in held] == [[exception_id]]


def test_no_final_read_is_requested_when_an_actual_read_was_taken_on_the_closing_day(running_services, rpc, publish):
    start(running_services, rpc, publish)
    send(publish, "B-1", "2026-01-10T20:00:00-08:00", ["20.00", "20.10"])
    close(publish, final_read_requested=True)
    assert rows("select rule from read_exceptions") == []
