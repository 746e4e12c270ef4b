"""A confirmed reverse flow larger than a period's use (issue 9, found by the 1,000-account year: three
`backwards` meters whose accepted 2-HCF fall exceeded a winter month's use were a run exception every
retry, never billed, and the next period started from the fallen reading, billing 2 HCF more than the
meter measured). The period bills zero and ends at its start reading; the water that flowed back is
netted against the next periods' use, so the billed periods add up to what the register advanced."""
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

OPENED = "accounts.account_opened.v1"
AMI_READS = "metering.ami_register_reads.v1"
SERIAL = "BACK0001"
INSTALLED_ON = date(2026, 1, 1)
FIRST_READ = Decimal("100.00")
DAILY_USE = Decimal("0.05")  # a low user: 1.4 HCF in February
FALL_ON, FALL = date(2026, 2, 10), Decimal("3.00")  # accepted by staff as reverse flow


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def reading_on(day: date) -> Decimal:
    reading = FIRST_READ + DAILY_USE * (day - INSTALLED_ON).days
    return reading - FALL if day >= FALL_ON else reading


def send(publish, batch_id: str, days: list[date]):
    publish(AMI_READS, {"batch_id": batch_id, "head_end": "sim-headend", "reads": [
        {"meter_serial": SERIAL, "read_at": f"{day.isoformat()}T00:00:00{_offset(day)}",
         "value": str(reading_on(day)), "unit": "HCF"} for day in days]}, producer_name="sim-headend")
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def _offset(day: date) -> str:
    return "-07:00" if date(2026, 3, 8) < day < date(2026, 11, 1) else "-08:00"  # Pacific daylight time


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def bill(rpc, start: str, end: str) -> dict:
    result = rpc.metering.billing_determinants({"period_start": start, "period_end": end, "account_ids": ["A30"],
                                                "estimate_missing_reads": True})
    assert result["held"] == [] and result["missing"] == [], result
    [determinant] = result["determinants"]
    return determinant


def test_a_confirmed_reverse_flow_larger_than_the_periods_use_is_netted_against_the_next_periods(
        running_services, rpc, publish):
    running_services("metering")
    rpc.metering.set_business_date("2026-05-02")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A30", connection_id="SC30",
                         customer_class="residential", opened_on="2026-01-01"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts where account_id = 'A30'"), message="account known")
    rpc.metering.register_meter({"serial": SERIAL, "size": "5/8"})
    rpc.metering.install_meter({"serial": SERIAL, "connection_id": "SC30", "installed_on": INSTALLED_ON.isoformat(),
                                "initial_read": str(FIRST_READ)})
    send(publish, "B-BEFORE", days_between(INSTALLED_ON + timedelta(days=1), FALL_ON - timedelta(days=1)))
    send(publish, "B-FALL", [FALL_ON])
    [held] = rpc.metering.list_read_exceptions({"status": "open"})["exceptions"]
    assert held["rule"] == "reverse_flow"
    rpc.metering.resolve_read_exception({"exception_id": held["exception_id"], "action": "accept",
                                         "resolved_by": "jdoe", "reason": "backflow confirmed on site"})
    send(publish, "B-AFTER", days_between(FALL_ON + timedelta(days=1), date(2026, 5, 1)))
    assert rpc.metering.list_read_exceptions({"status": "open"})["exceptions"] == []

    january = bill(rpc, "2026-01-01", "2026-01-31")
    february = bill(rpc, "2026-02-01", "2026-02-28")
    march = bill(rpc, "2026-03-01", "2026-03-31")
    april = bill(rpc, "2026-04-01", "2026-04-30")

    assert Decimal(january["consumption"]) == Decimal("1.55")
    # February's own reads went from 101.55 to 99.95: no water billed, and the period ends where it began.
    assert (Decimal(february["start_read"]), Decimal(february["end_read"]), Decimal(february["consumption"])) == (
        Decimal("101.55"), Decimal("101.55"), Decimal("0.00"))
    # The meter's own reading stays visible among the reads the determinant came from.
    assert Decimal(february["source_reads"][-1]["validated_value"]) == Decimal("99.95")
    assert Decimal(march["consumption"]) == Decimal("0.00")  # 101.50 is still below 101.55
    assert Decimal(april["consumption"]) == Decimal("1.45")  # 103.00 - 101.55
    billed = sum(Decimal(d["consumption"]) for d in (january, february, march, april))
    assert billed == reading_on(date(2026, 5, 1)) - FIRST_READ == Decimal("3.00")
    # Asked again (a restarted bill run), February is served the same netted end.
    assert bill(rpc, "2026-02-01", "2026-02-28")["end_read"] == february["end_read"]
