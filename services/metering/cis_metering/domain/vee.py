"""VEE (validation, estimation, editing) of AMI interval blocks: pure rules, no I/O.

A block is one meter register's cumulative readings at a fixed interval. Each rule that fires gives
a Finding naming the rule, the reading, the values it looked at and why; a finding that `holds`
keeps the reading out of billing (validated value None) until staff resolve it. The common case (no
gap, no reading going backwards, no jump) is checked in a few passes over the block, because the
AMI path validates hundreds of thousands of readings a second.
"""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from cis_metering.domain.model import UNITS_PER_HCF

TAMPER_FLAGS = frozenset({"tamper", "magnetic_tamper", "cut_wire"})


@dataclass(frozen=True)
class VeeThresholds:
    """District-configurable limits (documented in docs/metering.md)."""
    # Above this flow in one interval a reading is a spike (a 5/8" meter's safe maximum flow is
    # 20 gpm = 1.6 HCF/h; 10 HCF/h leaves room for 2" services before sizing thresholds per meter).
    max_hcf_per_hour: Decimal = Decimal("10")
    # Registers jitter by a unit of their last digit; a fall within this is not reverse flow.
    reverse_flow_tolerance_hcf: Decimal = Decimal("0.001")
    # A fall from the top tenth of the register's range to its bottom tenth is a rollover.
    rollover_band: Decimal = Decimal("0.1")
    # Flow in every interval for this long suggests a leak.
    continuous_flow_hours: int = 24
    # Gaps of at most this many intervals between two good readings are interpolated.
    max_interpolated_intervals: int = 4


DEFAULT_THRESHOLDS = VeeThresholds()


@dataclass(frozen=True)
class Finding:
    rule: str
    index: int | None  # which reading of the block (None: the whole block)
    reason: str
    details: dict = field(default_factory=dict)
    holds: bool = True  # keeps the reading(s) out of billing until resolved


@dataclass(frozen=True)
class MeterFacts:
    unit: str
    register_digits: int
    installed_at: datetime | None


def block_hold(block: dict, meter: MeterFacts | None) -> Finding | None:
    """A reason to hold the whole block before looking at its readings, or None."""
    if meter is None:
        return Finding("unknown_meter", None, "no meter with this serial is registered")
    if meter.installed_at is None:  # a meter in stock reporting: possible theft or a mis-keyed serial
        return Finding("meter_not_installed", None, "meter is not installed on any connection")
    if block["interval_start"] < meter.installed_at:
        return Finding("read_before_installation", None, "block starts before the meter was installed",
                       {"installed_at": meter.installed_at.isoformat()})
    if block["unit"] != meter.unit:
        return Finding("unit_mismatch", None,
                       f"block is in {block['unit']} but the meter's register reads {meter.unit}",
                       {"block_unit": block["unit"], "meter_unit": meter.unit})
    return None


def validate_block(block: dict, meter: MeterFacts, limits: VeeThresholds = DEFAULT_THRESHOLDS
                   ) -> tuple[list[str | None], list[Finding]]:
    """(validated readings, findings). validated[i] is the raw reading when it passed, an
    interpolated estimate for a short gap, or None when missing or held."""
    raw = block["values"]
    readings = [None if value is None else Decimal(value) for value in raw]
    validated = list(raw)
    findings: list[Finding] = []
    if None in readings:
        _fill_gaps(readings, validated, findings, limits)
    _check_steps(block, meter, readings, validated, findings, limits)
    tampered = TAMPER_FLAGS.intersection(block["flags"])
    if tampered:
        findings.append(Finding("tamper", None, f"head-end reported {', '.join(sorted(tampered))}",
                                {"flags": sorted(tampered)}))
        validated = [None] * len(validated)
    if "leak" in block["flags"]:
        findings.append(Finding("continuous_flow", None, "head-end reported a leak", {"flags": ["leak"]},
                                holds=False))
    return validated, findings


def _check_steps(block, meter, readings, validated, findings, limits) -> None:
    interval_hours = Decimal(block["interval_seconds"]) / 3600
    units_per_hcf = UNITS_PER_HCF[block["unit"]]
    spike_above = limits.max_hcf_per_hour * interval_hours * units_per_hcf
    fall_tolerance = limits.reverse_flow_tolerance_hcf * units_per_hcf
    register_range = Decimal(10) ** meter.register_digits
    flowing_run = 0
    # Only hourly or finer data can show water never stopping (a day of daily data cannot).
    flow_flagged = block["interval_seconds"] > 3600
    run_needed = Decimal(limits.continuous_flow_hours) / interval_hours
    previous_index = None
    for index, reading in enumerate(readings):
        if reading is None:
            previous_index, flowing_run = None, 0
            continue
        if previous_index is not None:
            step = reading - readings[previous_index]
            if step < -fall_tolerance:
                if not _is_rollover(readings[previous_index], reading, register_range, limits):
                    findings.append(Finding(
                        "reverse_flow", index, "register went backwards: possible backflow or meter reset",
                        {"previous": str(readings[previous_index]), "reading": str(reading)}))
                    validated[index] = None
                    step = Decimal(0)
                else:
                    step += register_range
            if step > spike_above:
                findings.append(Finding(
                    "spike", index, f"use of {step} {block['unit']} in one interval is above {spike_above}",
                    {"previous": str(readings[previous_index]), "reading": str(reading), "limit": str(spike_above)}))
                validated[index] = None
            flowing_run = flowing_run + 1 if step > 0 else 0
            if flowing_run >= run_needed and not flow_flagged:
                flow_flagged = True
                findings.append(Finding(
                    "continuous_flow", index,
                    f"water flowed in every interval for {limits.continuous_flow_hours} hours: possible leak",
                    {"hours": limits.continuous_flow_hours}, holds=False))
        previous_index = index


def _is_rollover(previous: Decimal, reading: Decimal, register_range: Decimal, limits: VeeThresholds) -> bool:
    """A register that passed its top (999999 -> 000012) rather than a meter that was reset."""
    return previous >= register_range * (1 - limits.rollover_band) and reading < register_range * limits.rollover_band


def _fill_gaps(readings, validated, findings, limits) -> None:
    """Interpolate short gaps linearly between the good readings either side; report the rest."""
    index, count = 0, len(readings)
    while index < count:
        if readings[index] is not None:
            index += 1
            continue
        end = index
        while end < count and readings[end] is None:
            end += 1
        before = readings[index - 1] if index > 0 else None
        after = readings[end] if end < count else None
        width = end - index
        if before is not None and after is not None and after >= before and width <= limits.max_interpolated_intervals:
            exponent = min(before.as_tuple().exponent, after.as_tuple().exponent)
            for offset in range(1, width + 1):
                estimate = before + (after - before) * offset / (width + 1)
                validated[index + offset - 1] = str(estimate.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP))
            findings.append(Finding("gap", index, f"{width} missing interval(s) interpolated",
                                    {"first_missing": index, "missing": width, "estimated": True}, holds=False))
        else:
            findings.append(Finding("gap", index, f"{width} missing interval(s) that cannot be interpolated",
                                    {"first_missing": index, "missing": width}))
        index = end
