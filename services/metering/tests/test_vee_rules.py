"""VEE rules on interval blocks (pure domain code)."""
from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given, strategies as st

from cis_metering.domain.intervals import Reading, blocks_from_readings
from cis_metering.domain.vee import MeterFacts, VeeThresholds, block_hold, validate_block

METER = MeterFacts(unit="HCF", register_digits=6, installed_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
START = datetime(2026, 1, 15, 8, tzinfo=timezone.utc)


def block(values, seconds=3600, flags=(), unit="HCF"):
    return {"meter_serial": "M-1", "register": "main", "unit": unit, "interval_start": START,
            "interval_seconds": seconds, "values": list(values), "flags": list(flags)}


def rules(values, **kwargs):
    return [(f.rule, f.index) for f in validate_block(block(values, **kwargs), METER)[1]]


def test_steady_use_passes_every_reading_as_received():
    assert validate_block(block(["1.0", "1.1", "1.1", "1.3"]), METER) == (["1.0", "1.1", "1.1", "1.3"], [])


def test_a_register_passing_999999_is_a_rollover_not_reverse_flow():
    validated, findings = validate_block(block(["999999.5", "0.3"]), METER)
    assert validated == ["999999.5", "0.3"] and findings == []


def test_a_fall_to_near_zero_from_mid_range_is_a_meter_reset_held_as_reverse_flow():
    assert rules(["5000.0", "0.2"]) == [("reverse_flow", 1)]


def test_a_jump_above_the_hourly_limit_is_a_spike_scaled_by_interval_and_unit():
    assert rules(["1.0", "12.0"]) == [("spike", 1)]  # 11 HCF in an hour > 10
    assert rules(["1.0", "12.0"], seconds=86400) == []  # the same in a day is ordinary
    assert rules(["748.052", "8976.624"], unit="gallons") == [("spike", 1)]  # 11 HCF of gallons in an hour


def test_flow_in_every_interval_for_24_hours_is_noted_as_a_possible_leak_without_holding():
    validated, findings = validate_block(block([str(Decimal("1.0") + Decimal("0.01") * h) for h in range(25)]), METER)
    assert [(f.rule, f.holds) for f in findings] == [("continuous_flow", False)]
    assert None not in validated


def test_a_gap_longer_than_the_limit_is_reported_and_not_filled():
    validated, findings = validate_block(block(["1.0"] + [None] * 5 + ["2.0"]), METER,
                                         VeeThresholds(max_interpolated_intervals=4))
    assert [(f.rule, f.holds) for f in findings] == [("gap", True)] and validated[1:6] == [None] * 5


def test_a_tamper_flag_holds_the_whole_block():
    validated, findings = validate_block(block(["1.0", "1.1"], flags=["magnetic_tamper"]), METER)
    assert validated == [None, None] and [f.rule for f in findings] == ["tamper"]


def test_a_block_in_another_unit_than_the_register_is_held_whole():
    assert block_hold(block(["1.0"], unit="gallons"), METER).rule == "unit_mismatch"


def test_a_block_from_before_the_installation_is_held_whole():
    early = dict(block(["1.0"]), interval_start=datetime(2025, 12, 1, tzinfo=timezone.utc))
    assert block_hold(early, METER).rule == "read_before_installation"


@given(st.lists(st.decimals(min_value=0, max_value=9, places=3), min_size=2, max_size=48))
def test_interpolated_readings_lie_between_their_neighbours(steps):
    readings, total = [], Decimal("100")
    for step in steps:
        total += step
        readings.append(str(total))
    holed = [readings[0]] + [None] * min(3, len(readings) - 2) + readings[min(3, len(readings) - 2) + 1:]
    validated, _ = validate_block(block(holed, seconds=86400), METER)
    numbers = [Decimal(v) for v in validated if v is not None]
    assert numbers == sorted(numbers)  # a cumulative register never runs backwards through an estimate


def test_file_rows_regroup_into_blocks_with_missing_intervals_as_gaps():
    def reading(line, hour, value):
        return Reading(line, "M-1", "main", START.replace(hour=hour), value, "HCF", 3600)
    blocks, rejected = blocks_from_readings([reading(2, 10, "1.2"), reading(3, 8, "1.0"), reading(4, 8, "1.0")])
    assert [(b["interval_start"].hour, b["values"]) for b in blocks] == [(8, ["1.0", None, "1.2"])]
    assert rejected == []
