"""A held or rejected value is never a reference for another rule (issue 9, case 3): a conflicting
duplicate, correctly held, must not become the reading a late batch's re-check compares the next good
reading with - that gave a false reverse-flow exception and a backflow letter to the customer."""
from decimal import Decimal

import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"
HOUR = "2026-01-15T0{}:00:00-08:00"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc):
    running_services("metering")
    rpc.metering.set_business_date("2026-01-16")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": "0"})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values ('A1', 'SC1', 'open', '2026-01-01')"))


def send(publish, batch_id, hour, values):
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": HOUR.format(hour), "interval_seconds": 3600, "values": values}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def test_a_held_conflicting_duplicate_in_a_late_batch_raises_no_reverse_flow_and_no_backflow_alert(
        running_services, rpc, publish):
    start(running_services, rpc)
    send(publish, "B-1", 0, ["10.00", "10.10", "10.20"])
    send(publish, "B-3", 3, ["10.30", "10.40"])
    # A late batch re-sends hours 1-2, hour 2 with another value than the one stored: a conflicting duplicate.
    send(publish, "B-2", 1, ["10.10", "10.60"])

    assert rows("select rule, value, status from read_exceptions order by exception_id") == [
        ("conflicting_duplicate", Decimal("10.60"), "open")]
    # The good reading after it (hour 3) is checked against the stored 10.20, not the held 10.60.
    assert rows("select to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), validated_value, quality "
                "from register_reads where source = 'ami' order by read_at") == [
        ("00", Decimal("10.00"), "actual"), ("01", Decimal("10.10"), "actual"), ("02", Decimal("10.20"), "actual"),
        ("03", Decimal("10.30"), "actual"), ("04", Decimal("10.40"), "actual")]
    assert rows("select count(*) from outbox where message_name = 'metering.consumption_alert.v1'") == [(0,)]
    assert rpc.metering.get_determinants({"period_start": "2026-01-15", "period_end": "2026-01-15",
                                          "account_ids": ["A1"]})["held"][0]["reason"].endswith("conflicting_duplicate")


def test_a_conflicting_duplicate_does_not_undo_the_interpolation_after_it(running_services, rpc, publish):
    start(running_services, rpc)
    send(publish, "B-1", 0, ["10.00", "10.10", "10.20"])
    send(publish, "B-3", 4, ["10.40", "10.50"])  # hour 3 is interpolated between 10.20 and 10.40
    send(publish, "B-2", 1, ["10.10", "10.60"])  # hour 2 conflicts with the stored 10.20

    assert rows("select rule, value from read_exceptions where status <> 'noted' order by exception_id") == [
        ("conflicting_duplicate", Decimal("10.60"))]
    assert rows("select to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), value, validated_value, quality "
                "from register_reads where source = 'ami' and read_at >= :at order by read_at", at=HOUR.format(2)) == [
        ("02", Decimal("10.20"), Decimal("10.20"), "actual"), ("03", None, Decimal("10.30"), "estimated"),
        ("04", Decimal("10.40"), Decimal("10.40"), "actual"), ("05", Decimal("10.50"), Decimal("10.50"), "actual")]


def test_a_reading_after_a_held_spike_in_the_next_batch_is_no_reverse_flow(running_services, rpc, publish):
    """The last stored reading is held (a spike): the next batch is compared with the valid one before it."""
    start(running_services, rpc)
    send(publish, "B-1", 0, ["10.00", "10.10", "95.00"])  # 84.9 HCF in an hour: held as a spike
    send(publish, "B-2", 3, ["10.30", "10.40"])

    assert rows("select rule, value from read_exceptions order by exception_id") == [("spike", Decimal("95.00"))]
    assert rows("select validated_value from register_reads where source = 'ami' and read_at >= :at order by read_at",
                at=HOUR.format(3)) == [(Decimal("10.30"),), (Decimal("10.40"),)]
    assert rows("select count(*) from outbox where message_name = 'metering.consumption_alert.v1'") == [(0,)]


def test_a_held_spike_after_a_late_closure_is_no_evidence_of_water_used_with_no_account(
        running_services, rpc, publish):
    """The closure re-check (read_on_inactive_account) looks at valid readings only."""
    start(running_services, rpc)
    publish(INTERVAL_READS, {"batch_id": "B-1", "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": "2026-01-10T22:00:00-08:00", "interval_seconds": 3600,
        "values": ["20.00", "20.00", "20.00", "95.00"]}]})  # 01:00 on the 11th: 75 HCF in an hour, a spike
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = 'B-1'"), message="B-1 stored")
    publish("accounts.account_closed.v1", {"account_id": "A1", "closed_on": "2026-01-10", "reason": "move_out",
                                           "final_read_requested": False}, producer_name="accounts")
    wait_for(lambda: rows("select status from service_accounts where account_id = 'A1'") == [("closed",)],
             message="closure known")

    assert rows("select rule from read_exceptions order by exception_id") == [("spike",)]
