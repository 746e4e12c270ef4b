"""Rows of single readings (from files) regrouped into interval blocks, so every ingestion path
validates and stores readings the same way (domain.vee, adapters.interval_store)."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# A gap of up to this many intervals stays inside one block (as missing readings VEE sees and
# interpolates or reports); a longer silence starts a new block.
MAX_GAP_INTERVALS_IN_BLOCK = 96


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of a file row. The meter is as the file names it (a serial or an AMI endpoint id):
    it is resolved per block afterwards, not per row."""
    line: int
    meter_ref: str
    register: str
    read_at: datetime
    value: str
    unit: str | None  # None: in the meter's own register unit
    interval_seconds: int | None


def blocks_from_readings(readings: list[Reading]) -> tuple[list[dict], list[tuple[int, str]]]:
    """(interval blocks, rejected (line, reason)). A reading repeated with the same value is kept
    once; repeated with another value, the later line is rejected naming the earlier one."""
    ordered = sorted(readings, key=lambda r: (r.meter_ref, r.register, r.read_at, r.line))
    blocks, rejected = [], []
    current, last = None, None
    for reading in ordered:
        if last is not None and _same_series(last, reading) and reading.read_at == last.read_at:
            if Decimal(reading.value) != Decimal(last.value):
                rejected.append((reading.line, f"conflicts with line {last.line}: {reading.value} against "
                                                f"{last.value} at the same time"))
            continue
        steps = _steps_after(last, reading) if current is not None and _same_series(last, reading) else None
        if steps is None:
            current = {"meter_serial": reading.meter_ref, "register": reading.register, "unit": reading.unit,
                       "interval_start": reading.read_at, "interval_seconds": reading.interval_seconds or 3600,
                       "values": [reading.value], "flags": []}
            blocks.append(current)
        else:
            current["values"].extend([None] * (steps - 1))
            current["values"].append(reading.value)
        last = reading
    return blocks, rejected


def _same_series(a: Reading, b: Reading) -> bool:
    return (a.meter_ref, a.register, a.unit, a.interval_seconds) == (b.meter_ref, b.register, b.unit,
                                                                  b.interval_seconds)


def _steps_after(last: Reading, reading: Reading) -> int | None:
    """How many intervals after `last` the reading falls, when it continues the same block."""
    if not reading.interval_seconds:
        return None
    seconds = (reading.read_at - last.read_at).total_seconds()
    steps, remainder = divmod(seconds, reading.interval_seconds)
    if remainder or not 1 <= steps <= MAX_GAP_INTERVALS_IN_BLOCK:
        return None
    return int(steps)
