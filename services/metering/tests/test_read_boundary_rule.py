"""The read boundary rule (docs/metering.md): a period's end read is the latest valid read at or before
its end instant and its start read the latest at or before its start instant, so the midnight read at a
boundary ends one period and starts the next: consecutive periods tile exactly, and an estimated end
and an actual end of the same period stand at the same instant."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"
JANUARY, FEBRUARY = ("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-28")


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def meter_on_account(rpc, serial, account_id, installed_on, initial_read):
    rpc.metering.register_meter({"serial": serial, "size": "5/8"})
    rpc.metering.install_meter({"serial": serial, "connection_id": f"SC-{account_id}", "installed_on": installed_on,
                                "initial_read": initial_read})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values (:a, :c, 'open', :on)"),
                   {"a": account_id, "c": f"SC-{account_id}", "on": installed_on})


def daily_midnight_reads(publish, serial, first_day: date, readings: list[str], utc_offset="-08:00"):
    """A head-end's daily register reads: one at each District midnight (UTC offset -07:00 in summer)."""
    batch_id = f"daily-{serial}-{first_day}"
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "sensus", "blocks": [{
        "meter_serial": serial, "interval_start": f"{first_day.isoformat()}T00:00:00{utc_offset}",
        "interval_seconds": 86400, "values": readings}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def by_version(rpc, period, account_id):
    """The account's determinant from v1, v2 and v3 (billing's call, estimation on)."""
    request = {"period_start": period[0], "period_end": period[1], "account_ids": [account_id]}
    return {"v1": rpc.metering.get_consumption(request)["determinants"],
            "v2": rpc.metering.get_determinants(request)["determinants"],
            "v3": rpc.metering.billing_determinants({**request, "estimate_missing_reads": True})["determinants"]}


def test_daily_midnight_reads_across_two_monthly_periods_bill_every_day_exactly_once(running_services, rpc, publish):
    running_services("metering")
    rpc.metering.set_business_date("2026-03-02")
    meter_on_account(rpc, "M-D", "AD", "2025-12-31", initial_read="100.00")
    # 1 January to 1 March midnights: day n (from 1 January) reads 100 + 0.25 n + 0.01 n (no two days alike).
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(60)]
    readings = [str(Decimal("100.00") + Decimal("0.26") * n) for n in range(60)]
    daily_midnight_reads(publish, "M-D", days[0], readings)
    first, last = Decimal(readings[0]), Decimal(readings[-1])  # 1 January and 1 March midnights

    january, february = by_version(rpc, JANUARY, "AD"), by_version(rpc, FEBRUARY, "AD")

    for version in ("v1", "v2", "v3"):
        [jan], [feb] = january[version], february[version]
        assert Decimal(jan["consumption"]) + Decimal(feb["consumption"]) == last - first, version
        # The 1 February midnight read ends January and starts February; the 1 March one ends February.
        assert jan["end_read_at"] == feb["start_read_at"] == "2026-02-01T00:00:00-08:00", version
        assert feb["end_read_at"] == "2026-03-01T00:00:00-08:00", version
        assert (Decimal(jan["consumption"]), Decimal(feb["consumption"])) == (
            Decimal("0.26") * 31, Decimal("0.26") * 28), version


def test_an_estimated_and_an_actual_end_of_the_same_period_stand_at_the_same_instant(running_services, rpc, publish):
    """Two meters, the same January: one read at every midnight, one not read in January (estimated).
    Both periods end at the 1 February midnight, where February starts for both."""
    running_services("metering")
    rpc.metering.set_business_date("2026-02-02")
    meter_on_account(rpc, "M-A", "AA", "2025-12-01", initial_read="0.00")
    meter_on_account(rpc, "M-E", "AE", "2025-12-01", initial_read="0.00")
    daily_midnight_reads(publish, "M-A", date(2025, 12, 2), [str(Decimal(n)) for n in range(1, 63)])  # to 1 Feb
    daily_midnight_reads(publish, "M-E", date(2025, 12, 2), [str(Decimal(n)) for n in range(1, 32)])  # to 1 Jan

    [actual] = by_version(rpc, JANUARY, "AA")["v3"]
    [estimated] = by_version(rpc, JANUARY, "AE")["v3"]

    assert (actual["quality"], estimated["quality"]) == ("actual", "estimated")
    assert actual["end_read_at"] == estimated["end_read_at"] == "2026-02-01T00:00:00-08:00"
    # 1 HCF a day on both meters: the same 31 days billed by either path.
    assert actual["consumption"] == "31" and Decimal(estimated["consumption"]) == 31

    # A reader takes M-E's 1 February midnight read after January was billed: February starts from it, and it
    # trues the estimate up at the estimate's own instant (no interpolation: the two paths meet at the boundary).
    rpc.metering.enter_manual_read({"meter_serial": "M-E", "read_at": "2026-02-01T00:00:00-08:00", "value": "60",
                                    "reader": "rvaldez", "reason": "route"})
    [feb_actual] = by_version(rpc, FEBRUARY, "AA")["v3"]
    [feb_estimated] = by_version(rpc, FEBRUARY, "AE")["v3"]
    assert feb_actual["start_read_at"] == feb_estimated["start_read_at"] == "2026-02-01T00:00:00-08:00"
    [true_up] = feb_estimated["true_ups"]
    assert (true_up["how_known"], true_up["estimated_value"], true_up["difference"]) == (
        "actual read at the estimate's instant", "62.00", "-2.00")
    assert (feb_estimated["start_read"], feb_actual["start_read"]) == ("60", "62")


AUGUST, SEPTEMBER = ("2026-08-01", "2026-08-31"), ("2026-09-01", "2026-09-30")
SUMMER = "-07:00"


def bill_run(rpc, period, account_id):
    """The account's determinant as the bill run asks for it (v3, estimation on)."""
    [determinant] = rpc.metering.billing_determinants({"period_start": period[0], "period_end": period[1],
                                                        "account_ids": [account_id],
                                                        "estimate_missing_reads": True})["determinants"]
    return determinant


def readings_from(first: int, days: int) -> list[str]:
    """3 HCF a day from `first`."""
    return [str(first + 3 * n) for n in range(days)]


def test_a_boundary_read_arriving_after_the_bill_run_is_billed_in_the_next_period(running_services, rpc, publish):
    """The district simulation's A0000952: the 1 September midnight read arrived after August's bill run,
    so August ended at the 31 August midnight read (4216). September starts where August was billed, not
    at the late read (4219): the 3 HCF between them are billed in September, not in no period."""
    running_services("metering")
    meter_on_account(rpc, "M-L", "AL", "2026-07-31", initial_read="4123")
    daily_midnight_reads(publish, "M-L", date(2026, 8, 1), readings_from(4126, 31), SUMMER)  # to 31 August: 4216
    rpc.metering.set_business_date("2026-09-02")
    august = bill_run(rpc, AUGUST, "AL")
    assert (august["end_read_at"], august["end_read"]) == ("2026-08-31T00:00:00-07:00", "4216")

    daily_midnight_reads(publish, "M-L", date(2026, 9, 1), readings_from(4219, 31), SUMMER)  # the late read on
    rpc.metering.set_business_date("2026-10-02")
    september = bill_run(rpc, SEPTEMBER, "AL")

    assert (september["start_read_at"], september["start_read"]) == (august["end_read_at"], august["end_read"])
    assert september["end_read_at"] == "2026-10-01T00:00:00-07:00"
    assert Decimal(august["consumption"]) + Decimal(september["consumption"]) == 4309 - 4126  # last - first
    assert (august["consumption"], september["consumption"]) == ("90", "93")
    assert rows("select register, period_end_at, read_at, value, estimate_id from billed_end_reads "
                "where meter_serial = 'M-L' order by period_end_at") == [
        ("main", datetime.fromisoformat("2026-09-01T00:00:00-07:00"), datetime.fromisoformat("2026-08-31T00:00:00-07:00"), Decimal("4216"), None),
        ("main", datetime.fromisoformat("2026-10-01T00:00:00-07:00"), datetime.fromisoformat("2026-10-01T00:00:00-07:00"), Decimal("4309"), None)]


def test_a_restarted_bill_run_is_served_the_same_end_read_despite_a_later_read(running_services, rpc, publish):
    """A bill run restarted after a crash asks for August again after the 1 September midnight read came
    in: it gets the end read August was first served, so whichever call's bills stand, September starts
    where they ended. A preview (no estimation) before the bill run fixes nothing."""
    running_services("metering")
    meter_on_account(rpc, "M-R", "AR", "2026-07-31", initial_read="4123")
    daily_midnight_reads(publish, "M-R", date(2026, 8, 1), readings_from(4126, 31), SUMMER)
    rpc.metering.set_business_date("2026-09-02")
    request = {"period_start": AUGUST[0], "period_end": AUGUST[1], "account_ids": ["AR"]}
    rpc.metering.billing_determinants(request)
    assert rows("select 1 from billed_end_reads") == []
    first = bill_run(rpc, AUGUST, "AR")

    daily_midnight_reads(publish, "M-R", date(2026, 9, 1), readings_from(4219, 1), SUMMER)
    again = bill_run(rpc, AUGUST, "AR")

    assert again == first
    assert (again["end_read_at"], again["end_read"], again["consumption"]) == (
        "2026-08-31T00:00:00-07:00", "4216", "90")
    # Once billed, a period's end is the billed one for a preview (no estimation) too.
    [preview] = rpc.metering.billing_determinants(request)["determinants"]
    assert preview["end_read"] == "4216"


def test_a_restarted_bill_run_is_served_the_same_estimate_and_the_next_period_trues_it_up(
        running_services, rpc, publish):
    """August's end estimated (the meter went silent after 24 August); the reads come in before the
    restarted run asks again: the same estimate, trued up in September, and the two bills together are
    the register's whole advance."""
    running_services("metering")
    meter_on_account(rpc, "M-S", "AS", "2026-07-31", initial_read="4123")
    daily_midnight_reads(publish, "M-S", date(2026, 8, 1), readings_from(4126, 24), SUMMER)  # to 24 August
    rpc.metering.set_business_date("2026-09-02")
    first = bill_run(rpc, AUGUST, "AS")
    assert first["quality"] == "estimated" and first["end_read_at"] == "2026-09-01T00:00:00-07:00"

    # It comes back at 4 HCF a day (estimated at 3): 8 HCF more by 1 September, and on to 1 October.
    daily_midnight_reads(publish, "M-S", date(2026, 8, 25), [str(4199 + 4 * n) for n in range(38)], SUMMER)
    again = bill_run(rpc, AUGUST, "AS")
    assert again == first
    rpc.metering.set_business_date("2026-10-02")
    september = bill_run(rpc, SEPTEMBER, "AS")

    [true_up] = september["true_ups"]
    assert true_up["estimate_id"] == first["estimates"][0]["estimate_id"]
    assert (true_up["how_known"], true_up["difference"]) == ("actual read at the estimate's instant", "8.00")
    billed = Decimal(first["consumption"]) + Decimal(september["consumption"]) + Decimal(true_up["difference"])
    assert billed == 4347 - 4126


def test_a_meter_exchanged_after_a_late_boundary_read_is_billed_from_where_its_last_bill_ended(
        running_services, rpc, publish):
    """August billed to the 31 August read; the 1 September read comes late; the meter is exchanged on
    15 September: September bills the old meter from August's end to its final read, then the new one."""
    running_services("metering")
    meter_on_account(rpc, "M-X", "AX", "2026-07-31", initial_read="4123")
    rpc.metering.register_meter({"serial": "M-Y", "size": "5/8"})
    daily_midnight_reads(publish, "M-X", date(2026, 8, 1), readings_from(4126, 31), SUMMER)
    rpc.metering.set_business_date("2026-09-02")
    august = bill_run(rpc, AUGUST, "AX")
    daily_midnight_reads(publish, "M-X", date(2026, 9, 1), readings_from(4219, 1), SUMMER)
    rpc.metering.exchange_meter({"old_serial": "M-X", "old_final_read": "4260", "new_serial": "M-Y",
                                 "new_initial_read": "5", "exchanged_on": "2026-09-15", "exchanged_by": "rvaldez",
                                 "reason": "failed accuracy test"})
    rpc.metering.enter_manual_read({"meter_serial": "M-Y", "read_at": "2026-10-01T00:00:00-07:00", "value": "45",
                                    "reader": "rvaldez", "reason": "route"})
    rpc.metering.set_business_date("2026-10-02")
    september = bill_run(rpc, SEPTEMBER, "AX")

    assert [(r["validated_value"], r["source"]) for r in september["source_reads"]] == [
        (august["end_read"], "ami"), ("4260", "final"), ("5", "install"), ("45", "manual")]
    assert Decimal(august["consumption"]) + Decimal(september["consumption"]) == (4260 - 4126) + (45 - 5)
