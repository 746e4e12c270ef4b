"""The fast AMI path (metering.ami_interval_reads.v1) end to end through RabbitMQ into the
partitioned register_reads table, with VEE findings held as read exceptions."""
from decimal import Decimal

import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import dead_letters, wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"
INTERVAL_QUEUE = "metering.on_ami_interval_reads"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def scalar(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.scalar(sa.text(sql), params)


def start(running_services, rpc, *serials, installed_on="2026-01-01", unit="HCF"):
    running_services("metering")
    for number, serial in enumerate(serials, 1):
        rpc.metering.register_meter({"serial": serial, "size": "5/8", "unit": unit})
        rpc.metering.install_meter({"serial": serial, "connection_id": f"SC{number:07d}",
                                    "installed_on": installed_on, "initial_read": "0"})


def block(serial, values, start="2026-01-15T00:00:00-08:00", seconds=3600, **extra):
    return {"meter_serial": serial, "interval_start": start, "interval_seconds": seconds, "values": values, **extra}


def batch(batch_id, *blocks):
    return {"batch_id": batch_id, "head_end": "beacon", "blocks": list(blocks)}


def batch_done(batch_id):
    return lambda: scalar("select count(*) from ami_batches where batch_id = :b", b=batch_id)


def ami_reads(serial):
    return rows("select to_char(read_at at time zone 'America/Los_Angeles', 'MM-DD HH24:MI'), value, "
                "validated_value, quality from register_reads where meter_serial = :s and source = 'ami' "
                "order by read_at", s=serial)


def open_exceptions():
    return rows("select meter_serial, rule, value from read_exceptions where not resolved order by exception_id")


def test_an_interval_block_becomes_one_validated_read_per_interval(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-1", block("M-1", ["10.00", "10.25", "10.50"])))
    wait_for(batch_done("B-1"), message="batch stored")
    assert ami_reads("M-1") == [("01-15 00:00", Decimal("10.00"), Decimal("10.00"), "actual"),
                                ("01-15 01:00", Decimal("10.25"), Decimal("10.25"), "actual"),
                                ("01-15 02:00", Decimal("10.50"), Decimal("10.50"), "actual")]
    assert rows("select stored_count, held_count from ami_batches") == [(3, 0)]


def test_a_republished_batch_and_an_overlapping_one_store_nothing_twice(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    first = batch("B-1", block("M-1", ["10.00", "10.25"]))
    publish(INTERVAL_READS, first)
    publish(INTERVAL_READS, first)  # the head-end re-publishes the same batch under a new message id
    publish(INTERVAL_READS, batch("B-2", block("M-1", ["10.25", "10.50"], start="2026-01-15T01:00:00-08:00")))
    wait_for(batch_done("B-2"), message="second batch stored")
    assert [value for _, value, _, _ in ami_reads("M-1")] == [Decimal("10.00"), Decimal("10.25"), Decimal("10.50")]
    assert open_exceptions() == []


def test_a_late_batch_of_an_earlier_month_lands_in_its_own_partition(running_services, rpc, publish):
    start(running_services, rpc, "M-1", installed_on="2025-11-01")
    publish(INTERVAL_READS, batch("B-feb", block("M-1", ["20.0"], start="2026-02-01T00:00:00-08:00")))
    publish(INTERVAL_READS, batch("B-dec", block("M-1", ["5.0"], start="2025-12-31T23:00:00-08:00")))
    wait_for(batch_done("B-dec"), message="late batch stored")
    wait_for(batch_done("B-feb"), message="early batch stored")
    partitions = rows("select tableoid::regclass::text, value from register_reads where source = 'ami' "
                      "order by read_at")
    assert partitions == [("register_reads_p2026_01", Decimal("5.0")), ("register_reads_p2026_02", Decimal("20.0"))]


def test_a_different_value_for_a_stored_instant_is_held_as_a_conflicting_duplicate(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-1", block("M-1", ["10.00", "10.25"])))
    wait_for(batch_done("B-1"), message="first batch stored")  # batches are handled concurrently
    publish(INTERVAL_READS, batch("B-2", block("M-1", ["10.00", "11.00"])))
    wait_for(batch_done("B-2"), message="conflicting batch stored")
    assert [value for _, value, _, _ in ami_reads("M-1")] == [Decimal("10.00"), Decimal("10.25")]
    assert open_exceptions() == [("M-1", "conflicting_duplicate", Decimal("11.00"))]


def test_a_block_of_an_unknown_meter_is_held_whole_not_dropped(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-1", block("M-1", ["1.0", "1.1"]), block("GHOST", ["7.0", "7.5"])))
    wait_for(batch_done("B-1"), message="batch stored")
    assert rows("select rule, details->'values' from read_exceptions where meter_serial = 'GHOST'") == [
        ("unknown_meter", ["7.0", "7.5"])]
    assert rows("select stored_count, held_count from ami_batches") == [(2, 1)]


def test_a_register_going_backwards_is_held_as_possible_backflow_and_kept_raw(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-1", block("M-1", ["10.0", "9.0", "10.5"])))
    wait_for(batch_done("B-1"), message="batch stored")
    assert ami_reads("M-1")[1] == ("01-15 01:00", Decimal("9.0"), None, "suspect")
    assert open_exceptions() == [("M-1", "reverse_flow", Decimal("9.0"))]


def test_a_short_gap_is_interpolated_and_marked_estimated(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-1", block("M-1", ["10.0", None, "11.0"])))
    wait_for(batch_done("B-1"), message="batch stored")
    assert ami_reads("M-1")[1] == ("01-15 01:00", None, Decimal("10.5"), "estimated")


def test_a_malformed_reading_dead_letters_the_batch_naming_block_and_index(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    publish(INTERVAL_READS, batch("B-bad", block("M-1", ["10.0", 10.5])))  # a JSON number: precision lost
    letters = wait_for(lambda: dead_letters(INTERVAL_QUEUE), message="dead letter")
    assert "values[1]" in letters[0][0]["x-cis-error"] and '"blocks"' in letters[0][0]["x-cis-error"]
    publish(INTERVAL_READS, batch("B-good", block("M-1", ["10.0"])))  # the consumer keeps running
    wait_for(batch_done("B-good"), message="next batch stored")
    assert scalar("select count(*) from ami_batches where batch_id = 'B-bad'") == 0


def test_interval_reads_are_billed_through_get_consumption_v1(running_services, rpc, publish):
    start(running_services, rpc, "M-1")
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values ('A1', 'SC0000001', 'open', '2026-01-01')"))
    days = ["%d.0" % day for day in range(0, 32)]  # one HCF a day, daily readings from Jan 1
    publish(INTERVAL_READS, batch("B-1", block("M-1", days, start="2026-01-01T00:00:00-08:00", seconds=86400)))
    wait_for(batch_done("B-1"), message="batch stored")
    result = rpc.metering.get_consumption({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                           "account_ids": ["A1"]})
    assert [(d["start_read"], d["end_read"], d["consumption"]) for d in result["determinants"]] == [
        ("0", "31.0", "31.0")]  # the install read of Jan 1 starts it; the 1 February midnight read ends it

