"""Daily register reads from the AMI head-end get the VEE interval blocks get (issue 9, case 4: "a 70x read
is billed"): the district simulation's meter SIM0000020 reported 2642 -> 3202 (a head-end glitch of +560
HCF in a day on a home using ~0.5 HCF a day) -> 2642, both stored as valid, the spike billed and the next
period negative. A batch's register reads become blocks checked like interval data (spike, reverse flow,
the consumption ceiling) and a single new reading is compared with the meter's own history (high use)."""
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.testing import wait_for

OPENED = "accounts.account_opened.v1"
AMI_READS = "metering.ami_register_reads.v1"
SERIAL = "SIM0000020"
INSTALLED_ON = date(2026, 1, 1)
FIRST_READ = Decimal("2622.00")  # the install read; 0.5 HCF a day after it


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00-08:00"  # January to early March: Pacific standard time


def usual_reading(day: date) -> str:
    return str(FIRST_READ + Decimal("0.5") * (day - INSTALLED_ON).days)


def a_home_with_forty_days_of_daily_reads(running_services, rpc, publish) -> date:
    """Returns the day of the last of them (10 February)."""
    running_services("metering")
    rpc.metering.set_business_date("2026-03-02")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A20", connection_id="SC20",
                         customer_class="residential", opened_on="2026-01-01"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts where account_id = 'A20'"), message="account known")
    rpc.metering.register_meter({"serial": SERIAL, "size": "5/8"})
    rpc.metering.install_meter({"serial": SERIAL, "connection_id": "SC20", "installed_on": INSTALLED_ON.isoformat(),
                                "initial_read": str(FIRST_READ)})
    days = [INSTALLED_ON + timedelta(days=n) for n in range(1, 41)]
    send(publish, "B-HISTORY", *[(day, usual_reading(day)) for day in days])
    return days[-1]


def send(publish, batch_id, *reads):
    publish(AMI_READS, {"batch_id": batch_id, "head_end": "sim-headend", "reads": [
        {"meter_serial": SERIAL, "read_at": midnight(day), "value": value, "unit": "HCF"} for day, value in reads]},
        producer_name="sim-headend")
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = :b", b=batch_id), message=f"{batch_id} stored")


def open_exceptions():
    return rows("select rule, value from read_exceptions where status = 'open' order by read_at, rule")


def february(rpc):
    return rpc.metering.billing_determinants({"period_start": "2026-02-01", "period_end": "2026-02-28",
                                              "account_ids": ["A20"], "estimate_missing_reads": True})


def test_a_560_hcf_spike_in_a_daily_register_read_is_held_and_not_billed(running_services, rpc, publish):
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    assert open_exceptions() == []
    spike_day, next_day = last + timedelta(days=1), last + timedelta(days=2)

    send(publish, "B-SPIKE", (spike_day, "3202.00"))  # a head-end glitch: 2642 -> 3202 in a day
    send(publish, "B-NEXT", (next_day, usual_reading(next_day)))  # back to normal the next day

    # 560 HCF in a day is over the spike limit (10 HCF/h) and 3 x the meter's usual 0.5 HCF/day.
    assert open_exceptions() == [("high_use", Decimal("3202.00")), ("spike", Decimal("3202.00"))]
    assert rows("select validated_value, quality from register_reads where batch_id = 'B-SPIKE'") == [
        (None, "suspect")]
    # The next reading is compared with the last valid one (2642.00), not with the held spike: no reverse flow.
    assert rows("select value, validated_value from register_reads where read_at = :at",
                at=midnight(next_day)) == [(Decimal(usual_reading(next_day)), Decimal(usual_reading(next_day)))]
    result = february(rpc)
    assert [h["account_id"] for h in result["held"]] == ["A20"]
    assert result["determinants"] == []


def test_a_spike_in_a_daily_register_read_after_a_silence_is_high_use_against_the_meters_history(
        running_services, rpc, publish):
    """Six days without reads: too long a gap to check the new reading as the middle of a block, so the
    usage rules span from the last valid stored reading to it (a block of one reading alone spans nothing)."""
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    after_silence = last + timedelta(days=6)

    send(publish, "B-SPIKE", (after_silence, "3202.00"))

    assert ("high_use", Decimal("3202.00")) in open_exceptions()
    assert [h["account_id"] for h in february(rpc)["held"]] == ["A20"]


def test_a_register_read_lower_than_the_last_valid_one_is_held_as_reverse_flow(running_services, rpc, publish):
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    send(publish, "B-LOWER", (last + timedelta(days=1), "2630.00"))

    assert open_exceptions() == [("reverse_flow", Decimal("2630.00"))]
    assert rows("select validated_value, quality from register_reads where batch_id = 'B-LOWER'") == [
        (None, "suspect")]


def test_a_register_batch_published_again_adds_nothing(running_services, rpc, publish):
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    spike_day = last + timedelta(days=1)
    send(publish, "B-SPIKE", (spike_day, "3202.00"))
    before = (rows("select count(*) from register_reads"), rows("select count(*) from read_exceptions"),
              rows("select count(*) from outbox"))

    send(publish, "B-SPIKE", (spike_day, "3202.00"))  # the head-end re-sends the batch
    send(publish, "B-HISTORY", (last, usual_reading(last)))  # a batch_id seen before, whatever it holds
    wait_for(lambda: rows("select count(*) from inbox where consumer = 'metering.on_ami_register_reads'")
             == [(4,)], message="every delivery handled")

    assert (rows("select count(*) from register_reads"), rows("select count(*) from read_exceptions"),
            rows("select count(*) from outbox")) == before


def test_a_register_read_off_the_batchs_daily_grid_is_checked_against_the_reads_before_it_in_the_batch(
        running_services, rpc, publish):
    """Three midnight reads are one block; a 06:00 read lower than the last of them is a block of its own,
    stored after it, so it is compared with that read (2643.50), not only with what was stored before."""
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    days = [last + timedelta(days=n) for n in (1, 2, 3)]
    publish(AMI_READS, {"batch_id": "B-MIXED", "head_end": "sim-headend", "reads": [
        {"meter_serial": SERIAL, "read_at": f"{days[-1].isoformat()}T06:00:00-08:00", "value": "2643.00",
         "unit": "HCF"}] + [
        {"meter_serial": SERIAL, "read_at": midnight(day), "value": usual_reading(day), "unit": "HCF"}
        for day in days]}, producer_name="sim-headend")
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = 'B-MIXED'"), message="batch stored")

    assert usual_reading(days[-1]) == "2643.50"
    assert open_exceptions() == [("reverse_flow", Decimal("2643.00"))]
    assert rows("select read_count, stored_count, held_count from ami_batches where batch_id = 'B-MIXED'") == [
        (4, 4, 1)]


def test_register_reads_of_unknown_meters_or_from_before_the_installation_are_still_held_with_the_reason(
        running_services, rpc, publish):
    last = a_home_with_forty_days_of_daily_reads(running_services, rpc, publish)
    day = last + timedelta(days=1)
    publish(AMI_READS, {"batch_id": "B-ODD", "head_end": "sim-headend", "reads": [
        {"meter_serial": "GHOST-9", "read_at": midnight(day), "value": "77.7", "unit": "HCF"},
        {"meter_serial": SERIAL, "read_at": "2025-12-20T00:00:00-08:00", "value": "2600.00", "unit": "HCF"},
        {"meter_serial": SERIAL, "read_at": midnight(day), "value": usual_reading(day), "unit": "HCF"},
        {"meter_serial": SERIAL, "read_at": midnight(day), "value": "2650.00", "unit": "HCF"}]},
        producer_name="sim-headend")
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = 'B-ODD'"), message="batch stored")

    assert rows("select meter_serial, value, rule, reason from read_exceptions order by exception_id") == [
        ("GHOST-9", Decimal("77.7"), "unknown_meter", "unknown meter"),
        (SERIAL, Decimal("2600.00"), "read_before_installation", "read before the meter was installed"),
        (SERIAL, Decimal("2650.00"), "conflicting_duplicate",
         "conflicts with another read in the batch: 2650.00 against 2642.50 at the same time")]
    assert rows("select value, validated_value from register_reads where batch_id = 'B-ODD'") == [
        (Decimal("2642.50"), Decimal("2642.50"))]
    assert rows("select read_count, stored_count, held_count from ami_batches where batch_id = 'B-ODD'") == [
        (4, 1, 3)]


def test_monthly_register_reads_in_one_batch_are_consecutive_readings_not_a_daily_grid_with_gaps(
        running_services, rpc, publish):
    """A register read is cumulative: two month-end reads 28 days apart in one batch open no gap exception
    (held, they would hold the account from billing every month) and bill the month between."""
    running_services("metering")
    rpc.metering.set_business_date("2026-03-02")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A20", connection_id="SC20",
                         customer_class="residential", opened_on="2026-01-01"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts where account_id = 'A20'"), message="account known")
    rpc.metering.register_meter({"serial": SERIAL, "size": "5/8"})
    rpc.metering.install_meter({"serial": SERIAL, "connection_id": "SC20", "installed_on": INSTALLED_ON.isoformat(),
                                "initial_read": str(FIRST_READ)})
    send(publish, "B-MONTHLY", (date(2026, 2, 1), "2637.00"), (date(2026, 3, 1), "2651.00"))
    assert open_exceptions() == []
    [determinant] = february(rpc)["determinants"]
    assert Decimal(determinant["consumption"]) == Decimal("14.00")
