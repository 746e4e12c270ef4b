"""The read boundary rule (docs/metering.md): a period's end read is the latest valid read at or before
its end instant and its start read the latest at or before its start instant, so the midnight read at a
boundary ends one period and starts the next: consecutive periods tile exactly, and an estimated end
and an actual end of the same period stand at the same instant."""
from datetime import date, timedelta
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


def daily_midnight_reads(publish, serial, first_day: date, readings: list[str]):
    """A head-end's daily register reads: one at each District midnight."""
    batch_id = f"daily-{serial}-{first_day}"
    publish(INTERVAL_READS, {"batch_id": batch_id, "head_end": "sensus", "blocks": [{
        "meter_serial": serial, "interval_start": f"{first_day.isoformat()}T00:00:00-08:00",
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
