"""VEE (validation, estimation, editing) of AMI interval blocks: pure rules, no I/O.

A block is one meter register's cumulative readings at a fixed interval. Each rule that fires gives
a Finding naming the rule, the reading, the values it looked at and why; a finding that `holds`
keeps the reading out of billing (validated value None) until staff resolve it. The common case (no
gap, no reading going backwards, no jump) is checked in a few passes over the block, because the
AMI path validates hundreds of thousands of readings a second.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from cis_metering.domain.ceilings import UsageCeiling
from cis_metering.domain.model import UNITS_PER_HCF, register_step

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
    # A block is checked against the meter's last stored reading before it when that is this recent.
    previous_read_lookback_days: int = 35
    # No use at all for this many days on an open account: stopped meter, bypass or vacancy? A meter whose
    # usual use takes longer to turn its register by zero_consumption_usual_steps steps is given that
    # long (a home using 0.1 HCF a day moves a whole-HCF register every 10 days), up to the maximum.
    zero_consumption_days: int = 7
    zero_consumption_usual_steps: Decimal = Decimal("2")
    zero_consumption_max_days: int = 35
    # High/low use: the period's use per day against the meter's own average daily use over
    # usage_history_days (needing usage_min_history_days of it) before the period.
    usage_history_days: int = 90
    usage_min_history_days: int = 14
    high_use_factor: Decimal = Decimal("3")
    # Below this daily use nothing is "high" (a home uses 0.2-0.5 HCF a day; a leaking toilet ~0.3 more).
    high_use_floor_hcf_per_day: Decimal = Decimal("1")
    low_use_factor: Decimal = Decimal("0.25")
    # Low use means something over a week or more, on a meter that normally uses at least this much.
    low_use_min_days: int = 7
    low_use_min_history_hcf_per_day: Decimal = Decimal("0.1")


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
    account_open: bool = False  # an open account takes water through the meter's connection
    # With no open account: when service ended (the end of the last closed account's closing day).
    closed_at: datetime | None = None
    ceiling: UsageCeiling | None = None  # the absolute consumption ceiling (domain/ceilings.py)


@dataclass(frozen=True)
class StoredRead:
    """A validated reading already stored (the reading before a block, or one from its history)."""
    read_at: datetime
    value: Decimal
    interval_data: bool = True  # from the head-end's interval stream (not an install or manual read)
    # Readings stored after this one up to this instant are held: present, but never references.
    held_through: datetime | None = None


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
    interpolated estimate for a short gap, or None when missing or held.

    A held reading is never a reference for another: the next reading is compared with the last valid
    one. `block["held_elsewhere"]` (optional) are indexes of readings stored already and held there:
    present (no gap), never references, not checked again."""
    raw = block["values"]
    readings = [None if value is None else Decimal(value) for value in raw]
    validated = list(raw)
    findings: list[Finding] = []
    held_elsewhere = block.get("held_elsewhere") or ()
    for index in held_elsewhere:
        readings[index] = validated[index] = None
    if None in readings:
        _fill_gaps(readings, validated, findings, limits, held_elsewhere)
    _check_steps(block, meter, readings, validated, findings, limits, held_elsewhere)
    tampered = TAMPER_FLAGS.intersection(block["flags"])
    if tampered:
        findings.append(Finding("tamper", None, f"head-end reported {', '.join(sorted(tampered))}",
                                {"flags": sorted(tampered)}))
        validated = [None] * len(validated)
    if "leak" in block["flags"]:
        findings.append(Finding("continuous_flow", None, "head-end reported a leak", {"flags": ["leak"]},
                                holds=False))
    return validated, findings


def _check_steps(block, meter, readings, validated, findings, limits, held_elsewhere=()) -> None:
    interval_hours = Decimal(block["interval_seconds"]) / 3600
    units_per_hcf = UNITS_PER_HCF[block["unit"]]
    spike_per_interval = limits.max_hcf_per_hour * interval_hours * units_per_hcf
    fall_tolerance = limits.reverse_flow_tolerance_hcf * units_per_hcf
    register_range = Decimal(10) ** meter.register_digits
    flowing_run = 0
    # Only hourly or finer data can show water never stopping (a day of daily data cannot).
    flow_flagged = block["interval_seconds"] > 3600
    run_needed = Decimal(limits.continuous_flow_hours) / interval_hours
    previous_index = None  # the last valid reading: a held one is no reference (docs/metering.md)
    # The valid stored reading before the block when it is off the block's grid (see boundary_findings):
    # the readings are compared with it until one passes - for falls only, its interval being unknown.
    reference = block.get("reference")
    for index, reading in enumerate(readings):
        if reading is None:
            if index not in held_elsewhere:
                previous_index, flowing_run, reference = None, 0, None
            continue
        held = False
        if previous_index is None and reference is not None:
            if reading - reference.value < -fall_tolerance and not _is_rollover(reference.value, reading,
                                                                                register_range, limits):
                findings.append(Finding("reverse_flow", index, "register went backwards since the last stored "
                                        "reading: possible backflow or meter reset",
                                        {"previous": str(reference.value), "previous_at": reference.read_at.isoformat(),
                                         "reading": str(reading)}))
                validated[index], held = None, True
        elif previous_index is not None:
            step = reading - readings[previous_index]
            if step < -fall_tolerance:
                if not _is_rollover(readings[previous_index], reading, register_range, limits):
                    findings.append(Finding(
                        "reverse_flow", index, "register went backwards: possible backflow or meter reset",
                        {"previous": str(readings[previous_index]), "reading": str(reading)}))
                    validated[index], held = None, True
                    step = Decimal(0)
                else:
                    step += register_range
            # Since the last valid reading: more than one interval when held readings lie between.
            spike_above = spike_per_interval if index - previous_index == 1 else \
                spike_per_interval * (index - previous_index)
            if step > spike_above:
                findings.append(Finding(
                    "spike", index, f"use of {step} {block['unit']} in one interval is above {spike_above}"
                    if index - previous_index == 1 else
                    f"use of {step} {block['unit']} in {index - previous_index} intervals is above {spike_above}",
                    {"previous": str(readings[previous_index]), "reading": str(reading), "limit": str(spike_above)}))
                validated[index], held = None, True
            flowing_run = flowing_run + 1 if step > 0 else 0
            if flowing_run >= run_needed and not flow_flagged:
                flow_flagged = True
                findings.append(Finding(
                    "continuous_flow", index,
                    f"water flowed in every interval for {limits.continuous_flow_hours} hours: possible leak",
                    {"hours": limits.continuous_flow_hours}, holds=False))
        if not held:
            previous_index, reference = index, None


def _is_rollover(previous: Decimal, reading: Decimal, register_range: Decimal, limits: VeeThresholds) -> bool:
    """A register that passed its top (999999 -> 000012) rather than a meter that was reset."""
    return previous >= register_range * (1 - limits.rollover_band) and reading < register_range * limits.rollover_band


def is_rollover(previous: Decimal, reading: Decimal, register_range: Decimal,
                limits: VeeThresholds = DEFAULT_THRESHOLDS) -> bool:
    return _is_rollover(previous, reading, register_range, limits)


def _fill_gaps(readings, validated, findings, limits, held_elsewhere=()) -> None:
    """Interpolate short gaps linearly between the good readings either side; report the rest. A reading
    held elsewhere is no gap, and nothing is interpolated from it."""
    index, count = 0, len(readings)
    while index < count:
        if readings[index] is not None or index in held_elsewhere:
            index += 1
            continue
        end = index
        while end < count and readings[end] is None and end not in held_elsewhere:
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


# ---- across batch boundaries and against the meter's history

def extend_with_previous(block: dict, previous: StoredRead | None, limits: VeeThresholds = DEFAULT_THRESHOLDS
                         ) -> dict | None:
    """The block with the meter's last stored reading before it put in front (and the intervals
    missing between them as nulls), so that every rule sees a batch boundary as it would the middle
    of a block: a split or late batch gets the same findings as one batch. None when the stored
    reading is not on the block's interval grid or further back than an interpolable gap (the caller
    then uses boundary_findings)."""
    if previous is None or not previous.interval_data:
        return None
    seconds = block["interval_seconds"]
    intervals, misaligned = divmod((block["interval_start"] - previous.read_at).total_seconds(), seconds)
    held = 0
    if previous.held_through is not None:
        held, held_misaligned = divmod((previous.held_through - previous.read_at).total_seconds(), seconds)
        misaligned = misaligned or held_misaligned
    if misaligned or intervals < 1 or intervals - 1 - held > limits.max_interpolated_intervals:
        return None
    held, intervals = int(held), int(intervals)
    held_elsewhere = range(1, 1 + held)
    if block.get("held_elsewhere"):  # the block's own, after the readings put in front
        held_elsewhere = set(held_elsewhere) | {index + intervals for index in block["held_elsewhere"]}
    return dict(block, interval_start=previous.read_at, stored_prefix=1 + held, held_elsewhere=held_elsewhere,
                values=[str(previous.value)] + [None] * (intervals - 1) + list(block["values"]))


def without_previous(extended: dict, validated: list, findings: list[Finding]) -> tuple[dict, list, list[Finding]]:
    """Drop the stored readings again (the valid one in front and any held after it): the block now starts
    with the (interpolated) missing intervals."""
    prefix = extended.get("stored_prefix", 1)
    block = {key: value for key, value in extended.items() if key not in ("stored_prefix", "held_elsewhere")}
    block.update(interval_start=extended["interval_start"] + timedelta(seconds=extended["interval_seconds"] * prefix),
                 values=extended["values"][prefix:])
    shifted = [finding if finding.index is None else
               Finding(finding.rule, finding.index - prefix, finding.reason, finding.details, finding.holds)
               for finding in findings if finding.index is None or finding.index >= prefix]
    return block, validated[prefix:], shifted


def last_valid_reading(block: dict, validated: list, before: StoredRead | None = None) -> StoredRead | None:
    """The reference for the reading after a block: its last valid reading, else the valid one before it
    (`before`); the block's held readings after it are present but no reference (held_through). None when
    the block has no reading at all, or nothing valid precedes them."""
    last_present = next((i for i in range(len(validated) - 1, -1, -1)
                         if block["values"][i] is not None or validated[i] is not None), None)
    if last_present is None:
        return None
    start, seconds = block["interval_start"], block["interval_seconds"]
    last_valid = next((i for i in range(last_present, -1, -1) if validated[i] is not None), None)
    present_at = start + timedelta(seconds=seconds * last_present)
    if last_valid is None:
        return None if before is None else StoredRead(before.read_at, before.value, before.interval_data,
                                                      held_through=present_at)
    return StoredRead(start + timedelta(seconds=seconds * last_valid), Decimal(validated[last_valid]),
                      held_through=present_at if last_present > last_valid else None)


def boundary_findings(block: dict, previous: StoredRead | None, limits: VeeThresholds = DEFAULT_THRESHOLDS
                      ) -> list[Finding]:
    """A stored reading off the block's grid or long before it: a gap in the interval stream is reported
    (an install or manual read weeks earlier is no gap). That the register did not go backwards since is
    checked by validate_block with the reading as the block's `reference` (the spike limit would need the
    interval, so it is not applied)."""
    if previous is None or block.get("register_reads"):
        return []  # register reads are cumulative: days between two of them are no missing data
    first = next((i for i, value in enumerate(block["values"]) if value is not None), None)
    if first is None:
        return []
    missing = int((block["interval_start"] - previous.read_at).total_seconds() // block["interval_seconds"]) - 1
    # Held readings stored after the valid one in front: the stream has no gap there.
    if previous.interval_data and previous.held_through is None and missing > limits.max_interpolated_intervals:
        return [Finding("gap", first, f"{missing} missing interval(s) since the last stored reading "
                        f"at {previous.read_at.isoformat()} (between batches)",
                        {"last_stored_at": previous.read_at.isoformat(), "missing": missing})]
    return []


@dataclass(frozen=True)
class UsageCheck:
    """What check_usage needs fetched for one block (see usage_checks_needed)."""
    reference_at: datetime | None  # fetch the reading at or before this instant ...
    reference_rule: str | None  # ... for this rule (zero_consumption, read_on_inactive_account)
    history_before: datetime | None  # fetch the earliest reading in the history window before this
    # zero_consumption: the reading the register stopped at; the reference fetched is the latest reading
    # showing another value (when the register last moved), within zero_consumption_max_days
    unchanged: Decimal | None = None


def usage_view(seen: dict, validated: list, before: StoredRead | None) -> dict:
    """The block the usage rules look at: what the other rules saw, or - when that does not begin with the
    valid stored reading before it and holds no two readings a day apart (a daily register read is a block
    of one) - the block's valid readings measured from that stored reading (`since`), so a single new
    reading is compared with the meter's own history. A held reading is never a reference."""
    if before is None or seen["interval_start"] <= before.read_at or _spans_a_day(seen):
        return seen
    if seen["interval_start"] - before.read_at <= timedelta(days=1):
        # the next daily read: one day's whole-HCF use against the average flagged every ordinary busy day
        # (the spike limit and the consumption ceiling still judge it); a reading after a silence is compared
        return seen
    return dict(seen, values=validated, since=before)


def _spans_a_day(block: dict) -> bool:
    values = block["values"]
    first = next((i for i, value in enumerate(values) if value is not None), None)
    last = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
    return first is not None and (last - first) * block["interval_seconds"] >= 86400


def usage_checks_needed(block: dict, meter: MeterFacts,
                        limits: VeeThresholds = DEFAULT_THRESHOLDS) -> UsageCheck | None:
    """Which history the block's use must be compared with; None for the common case (use neither zero
    on an open account, nor high enough per day to be high, over a span too short to be low)."""
    span = _usage_span(block)
    if span is None:
        return None
    start, first, _, end, last = span
    days = Decimal((end - start).total_seconds()) / 86400
    if meter.account_open and last == first:
        # when the register last moved, and the meter's usual use (how long a step takes it)
        return UsageCheck(start, "zero_consumption", start, unchanged=first)
    reference_at, reference_rule = None, None
    if not meter.account_open and meter.closed_at is not None and end > meter.closed_at:
        reference_at, reference_rule = meter.closed_at, "read_on_inactive_account"
    use_per_day = (last - first) / UNITS_PER_HCF[block["unit"]] / days if days else Decimal(0)
    history_before = start if days >= 1 and (use_per_day >= limits.high_use_floor_hcf_per_day
                                             or days >= limits.low_use_min_days) else None
    if reference_at is None and history_before is None:
        return None
    return UsageCheck(reference_at, reference_rule, history_before)


def _usage_span(block: dict) -> tuple[datetime, Decimal, int, datetime, Decimal] | None:
    """(from when, first reading, index of the last reading, its instant, last reading) of the use the
    usage rules judge: the block's first to last reading present, or from its `since` reading (see
    usage_view) to its last one. None with fewer than two readings."""
    since = block.get("since")
    if since is None:
        ends = _first_and_last(block["values"])
        if ends is None:
            return None
        (first_index, first), (last_index, last) = ends
        start = block["interval_start"] + timedelta(seconds=block["interval_seconds"] * first_index)
    else:
        values = block["values"]
        last_index = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
        if last_index is None:
            return None
        start, first, last = since.read_at, since.value, Decimal(values[last_index])
    end = block["interval_start"] + timedelta(seconds=block["interval_seconds"] * last_index)
    return start, first, last_index, end, last


def _first_and_last(values: list) -> tuple[tuple[int, Decimal], tuple[int, Decimal]] | None:
    """The first and last readings present, with their indexes (None with fewer than two). Runs for every
    block on the AMI path, so it does not convert the readings in between."""
    first = next((i for i, value in enumerate(values) if value is not None), None)
    last = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
    if first is None or first == last:
        return None
    return (first, Decimal(values[first])), (last, Decimal(values[last]))


def check_usage(block: dict, meter: MeterFacts, reference: StoredRead | None, history_from: StoredRead | None,
                limits: VeeThresholds = DEFAULT_THRESHOLDS, already_raised: bool = False) -> list[Finding]:
    """Zero consumption on an open account (see zero_consumption); water used after the account closed
    (possible unauthorized use); high or low use against the meter's own average daily use. Each finding
    opens a worklist item (an account is held from billing until someone looks) but keeps the reading:
    it is what the meter showed. `reference` is what UsageCheck asked for (zero consumption: when the
    register last moved; an inactive account: the reading at closing); `already_raised`: that rule has an
    item for this meter already (open, or for the same stopped register), so it raises none."""
    start, first, last_index, end, last = _usage_span(block)
    findings = []
    if not already_raised and meter.account_open and last == first:
        stopped = zero_consumption(end, last, reference, history_from, start, meter, block["unit"], limits)
        if stopped is not None:
            findings.append(Finding(stopped.rule, last_index, stopped.reason, stopped.details))
    if reference is not None and not already_raised and not meter.account_open and meter.closed_at is not None:
        findings += _used_after_closing(block, meter, reference, limits)
    if history_from is not None:
        history_days = Decimal((start - history_from.read_at).total_seconds()) / 86400
        days = Decimal((end - start).total_seconds()) / 86400
        if history_days >= limits.usage_min_history_days and days:
            units = UNITS_PER_HCF[block["unit"]]
            usual = (first - history_from.value) / units / history_days
            now = (last - first) / units / days
            finding = _high_or_low(now, usual, days, register_step(first, last) / units, limits)
            if finding:
                rule, reason = finding
                findings.append(Finding(rule, last_index, reason, {
                    "use_per_day_hcf": str(now.quantize(Decimal("0.0001"))),
                    "usual_per_day_hcf": str(usual.quantize(Decimal("0.0001"))),
                    "days": str(days.quantize(Decimal("0.01"))),
                    "history_days": str(history_days.quantize(Decimal("0.01"))),
                    "history_from": history_from.read_at.isoformat(),
                    "factor": str(limits.high_use_factor if rule == "high_use" else limits.low_use_factor)}))
    return findings


def zero_consumption(end: datetime, reading: Decimal, last_moved: StoredRead | None, history_from: StoredRead | None,
                     history_to: datetime, meter: MeterFacts, unit: str,
                     limits: VeeThresholds = DEFAULT_THRESHOLDS) -> Finding | None:
    """A zero_consumption finding (index None) when the register has shown `reading` for longer than the
    meter's usual use explains: at least zero_consumption_days, or the days its usual daily use (from
    `history_from` to `history_to`) takes to turn the register zero_consumption_usual_steps steps, at most
    zero_consumption_max_days. `last_moved` is the latest reading showing another value within that
    maximum (None: none since then, or since the installation)."""
    window_start = end - timedelta(days=limits.zero_consumption_max_days)
    since = last_moved.read_at if last_moved is not None else max(meter.installed_at or window_start, window_start)
    required = _days_a_stop_is_normal(reading, history_from, history_to, unit, limits)
    if end - since < timedelta(days=required):
        return None
    return Finding("zero_consumption", None,
                   f"the register has shown {reading} since the reading of {since.isoformat()} ({required}+ days) on an "
                   "open account: stopped meter, bypass or vacancy?",
                   {"since": since.isoformat(), "reading": str(reading), "days": required})


def _days_a_stop_is_normal(reading: Decimal, history_from: StoredRead | None, history_to: datetime, unit: str,
                           limits: VeeThresholds) -> int:
    """How many days without a register step the meter's own history makes ordinary."""
    history_days = Decimal((history_to - history_from.read_at).total_seconds()) / 86400 if history_from else 0
    if history_days < limits.usage_min_history_days:
        return limits.zero_consumption_days
    units = UNITS_PER_HCF[unit]
    usual = (reading - history_from.value) / units / history_days
    if usual <= 0:
        return limits.zero_consumption_max_days
    step = register_step(reading, history_from.value) / units
    days = (limits.zero_consumption_usual_steps * step / usual).to_integral_value(rounding=ROUND_CEILING)
    return int(min(max(days, limits.zero_consumption_days), limits.zero_consumption_max_days))


def _used_after_closing(block: dict, meter: MeterFacts, at_closing: StoredRead, limits: VeeThresholds) -> list[Finding]:
    """The first reading after service ended that shows water used since: someone is taking water
    through a connection no account is paying for (or a move-in was not recorded)."""
    for index, value in enumerate(block["values"]):
        at = block["interval_start"] + timedelta(seconds=block["interval_seconds"] * index)
        if value is None or at <= meter.closed_at:
            continue
        finding = used_after_closing(meter.closed_at, at_closing, StoredRead(at, Decimal(value)), block["unit"],
                                     limits)
        if finding:
            return [Finding(finding.rule, index, finding.reason, finding.details)]
    return []


def used_after_closing(closed_at: datetime, at_closing: StoredRead, reading: StoredRead, unit: str,
                       limits: VeeThresholds = DEFAULT_THRESHOLDS) -> Finding | None:
    """A read_on_inactive_account finding when `reading` (after service ended at `closed_at`) shows water
    used since the reading at closing, beyond the reverse-flow tolerance (index None: the caller places it)."""
    if reading.value - at_closing.value <= limits.reverse_flow_tolerance_hcf * UNITS_PER_HCF[unit]:
        return None
    return Finding("read_on_inactive_account", None,
                   f"water used after service ended at {closed_at.isoformat()} with no open account: "
                   "possible unauthorized use",
                   {"closed_at": closed_at.isoformat(), "reading_at_closing": str(at_closing.value),
                    "reading_at_closing_taken": at_closing.read_at.isoformat(), "reading": str(reading.value)})


def _high_or_low(now: Decimal, usual: Decimal, days: Decimal, resolution_hcf: Decimal,
                 limits: VeeThresholds) -> tuple[str, str] | None:
    # A register can show one step more than was used over a span (the step was nearly complete at its
    # start): use is high only beyond that. Without it, every day a whole-HCF register of a low user
    # moved by one was "3 x usual" (the district simulation: 39 worklist items per account a year).
    beyond_resolution = now - resolution_hcf / days
    if now >= limits.high_use_floor_hcf_per_day and beyond_resolution > usual * limits.high_use_factor:
        return "high_use", (f"{now:.4f} HCF/day is more than {limits.high_use_factor} x the meter's usual "
                            f"{usual:.4f} HCF/day")
    if (days >= limits.low_use_min_days and usual >= limits.low_use_min_history_hcf_per_day
            and now < usual * limits.low_use_factor):
        return "low_use", (f"{now:.4f} HCF/day is less than {limits.low_use_factor} x the meter's usual "
                           f"{usual:.4f} HCF/day")
    return None
