"""VEE across batch boundaries and against the meter's history, end to end through RabbitMQ: a batch
is checked against the meter's last stored reading, and a stopped meter on an open account is raised
once, not every day."""
from decimal import Decimal

import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc, initial_read="0"):
    running_services("metering")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": initial_read})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values ('A1', 'SC1', 'open', '2026-01-01')"))


def send(publish, batch_id, start_at, values):
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": start_at, "interval_seconds": 3600, "values": values}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def test_a_register_falling_between_two_batches_is_held_as_reverse_flow(running_services, rpc, publish):
    start(running_services, rpc)
    send(publish, "B-1", "2026-01-15T00:00:00-08:00", ["10.00", "10.10", "10.20"])
    send(publish, "B-2", "2026-01-15T03:00:00-08:00", ["9.50", "9.60"])  # the next hours, a separate batch
    # 9.60 is compared with the last valid 10.20, not with the held 9.50: still backwards.
    assert rows("select rule, value, details->>'previous' from read_exceptions order by read_at") == [
        ("reverse_flow", Decimal("9.50"), "10.20"), ("reverse_flow", Decimal("9.60"), "10.20")]
    assert rows("select validated_value, quality from register_reads where value < 10 and source = 'ami' "
                "order by read_at") == [(None, "suspect"), (None, "suspect")]


def test_a_short_gap_between_batches_is_filled_from_the_stored_reading(running_services, rpc, publish):
    start(running_services, rpc)
    send(publish, "B-1", "2026-01-15T00:00:00-08:00", ["10.00", "10.10"])
    send(publish, "B-2", "2026-01-15T04:00:00-08:00", ["10.40"])  # 02:00 and 03:00 never came
    assert rows("select to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), validated_value, quality "
                "from register_reads where source = 'ami' order by read_at") == [
        ("00", Decimal("10.00"), "actual"), ("01", Decimal("10.10"), "actual"), ("02", Decimal("10.20"), "estimated"),
        ("03", Decimal("10.30"), "estimated"), ("04", Decimal("10.40"), "actual")]


def send_to(publish, serial, batch_id, start_at, values):
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "beacon", "blocks": [{
        "meter_serial": serial, "interval_start": start_at, "interval_seconds": 3600, "values": values}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def stored_day(serial):
    return (rows("select to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), value, validated_value, quality "
                 "from register_reads where meter_serial = :m and source = 'ami' order by read_at", m=serial),
            rows("select rule, to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), status "
                 "from read_exceptions where meter_serial = :m and status <> 'superseded' order by read_at, rule",
                 m=serial))


def test_a_late_batch_gives_the_same_reads_and_findings_as_batches_in_order(running_services, rpc, publish):
    """Hours 1-2 arrive after hours 4-5: the interpolation of hours 1-3 (from hour 0 to hour 4) gives way
    to the actual readings, and hour 3 becomes a gap that cannot be interpolated (the register reads
    less at hour 4 than at hour 2), as it is when the batches come in order."""
    running_services("metering")
    for serial, connection in (("IN-ORDER", "SC1"), ("LATE", "SC2")):
        rpc.metering.register_meter({"serial": serial, "size": "5/8"})
        rpc.metering.install_meter({"serial": serial, "connection_id": connection, "installed_on": "2026-01-01",
                                    "initial_read": "0"})
    day = "2026-01-15T0{}:00:00-08:00"
    batches = {"hour 0": (day.format(0), ["10.00"]), "hours 1-2": (day.format(1), ["10.10", "10.95"]),
               "hours 4-5": (day.format(4), ["10.80", "10.90"])}
    for serial, order in (("IN-ORDER", ("hour 0", "hours 1-2", "hours 4-5")),
                          ("LATE", ("hour 0", "hours 4-5", "hours 1-2"))):
        for name in order:
            send_to(publish, serial, f"{serial} {name}", *batches[name])
    reads, findings = stored_day("LATE")
    assert (reads, findings) == stored_day("IN-ORDER")
    assert reads == [("00", Decimal("10.00"), Decimal("10.00"), "actual"),
                     ("01", Decimal("10.10"), Decimal("10.10"), "actual"),
                     ("02", Decimal("10.95"), Decimal("10.95"), "actual"),
                     ("04", Decimal("10.80"), Decimal("10.80"), "actual"),
                     ("05", Decimal("10.90"), Decimal("10.90"), "actual")]
    assert findings == [("gap", "03", "open")]
    [(action, by, old, new)] = rows("select r.action, r.resolved_by, r.old_status, r.new_status "
                                    "from read_exception_resolutions r join read_exceptions x using (exception_id) "
                                    "where x.meter_serial = 'LATE'")
    assert (action, by, old, new) == ("superseded", "metering", "noted", "superseded")  # the early interpolation


def test_a_late_batch_filling_a_long_gap_supersedes_the_gap_and_releases_the_reading_after_it(
        running_services, rpc, publish):
    start(running_services, rpc)
    send(publish, "B-0", "2026-01-15T00:00:00-08:00", ["10.00"])
    send(publish, "B-2", "2026-01-15T08:00:00-08:00", ["10.80", "10.90"])  # 7 hours missing: held as a gap
    assert rows("select rule, status from read_exceptions") == [("gap", "open")]
    send(publish, "B-1", "2026-01-15T01:00:00-08:00", [f"10.{h}0" for h in range(1, 8)])  # they come late
    assert rows("select rule, status, resolved from read_exceptions") == [("gap", "superseded", True)]
    assert rows("select validated_value, quality from register_reads where value = 10.80") == [
        (Decimal("10.80"), "actual")]
    held = rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                          "account_ids": ["A1"]})["held"]
    assert held == []


def test_a_stopped_meter_on_an_open_account_is_one_zero_consumption_item_not_one_a_day(running_services, rpc, publish):
    start(running_services, rpc, initial_read="50.00")
    send(publish, "B-1", "2026-01-10T00:00:00-08:00", ["50.00"] * 24)  # nothing since the install on 1 January
    send(publish, "B-2", "2026-01-11T00:00:00-08:00", ["50.00"] * 24)
    [(rule, status, since, days)] = rows(
        "select rule, status, details->>'since', details->>'days' from read_exceptions")
    assert (rule, status, days) == ("zero_consumption", "open", "7")
    assert since.startswith("2026-01-01T08:00:00")  # the install read, 1 January 00:00 District time
    held = rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                          "account_ids": ["A1"]})["held"]
    assert [h["account_id"] for h in held] == ["A1"]


def test_a_stopped_meter_staff_looked_at_is_not_raised_again_until_it_moves_and_stops_again(
        running_services, rpc, publish):
    """The district simulation: ~24 zero-consumption items per account a year, one a day after each one a
    technician accepted, for the same stopped register."""
    start(running_services, rpc, initial_read="50.00")
    send(publish, "B-1", "2026-01-10T00:00:00-08:00", ["50.00"] * 24)
    [(exception_id,)] = rows("select exception_id from read_exceptions where rule = 'zero_consumption'")
    rpc.metering.resolve_read_exception({"exception_id": exception_id, "action": "accept", "resolved_by": "jdoe",
                                         "reason": "vacation, customer called"})
    send(publish, "B-2", "2026-01-11T00:00:00-08:00", ["50.00"] * 24)  # still stopped: the same stop
    assert rows("select count(*) from read_exceptions where rule = 'zero_consumption'") == [(1,)]
    day_of_use = [f"{Decimal(50) + Decimal(hour) / 3:.2f}" for hour in range(24)]  # 50.00 ... 57.67
    send(publish, "B-3", "2026-01-12T00:00:00-08:00", day_of_use)  # it moved ...
    for day in range(13, 20):  # ... and stopped again for seven days
        send(publish, f"B-{day}", f"2026-01-{day}T00:00:00-08:00", ["57.67"] * 24)
    # since the last reading showing another value (57.33 at 22:00 on 12 January)
    assert rows("select count(*), min(details->>'since') from read_exceptions where rule = 'zero_consumption' "
                "and status = 'open'") == [(1, "2026-01-13T06:00:00+00:00")]


def test_water_used_after_the_account_closed_is_raised_as_possible_unauthorized_use(running_services, rpc, publish):
    start(running_services, rpc, initial_read="20.00")
    publish("accounts.account_closed.v1", {"account_id": "A1", "closed_on": "2026-01-10", "reason": "move_out",
                                           "final_read_requested": False}, producer_name="accounts")
    wait_for(lambda: rows("select status from service_accounts") == [("closed",)], message="closure known")
    send(publish, "B-1", "2026-01-11T00:00:00-08:00", ["20.00", "20.00", "20.00"])  # the meter reports, no use
    assert rows("select rule from read_exceptions") == []
    send(publish, "B-2", "2026-01-12T00:00:00-08:00", ["20.00", "20.40", "20.90"])
    send(publish, "B-3", "2026-01-13T00:00:00-08:00", ["21.00", "21.50"])  # still one item, not one a batch
    [(rule, status, value, closed_at, at_closing)] = rows(
        "select rule, status, value, details->>'closed_at', details->>'reading_at_closing' from read_exceptions "
        "where rule = 'read_on_inactive_account'")
    assert (rule, status, value, at_closing) == ("read_on_inactive_account", "open", Decimal("20.40"), "20.00")
    assert closed_at.startswith("2026-01-11T00:00:00-08:00")  # the end of the last day of service
