"""The absolute consumption ceiling (VEE rule consumption_ceiling): without enough history for the
high-use rule, a reading showing more use since the previous valid reading than (a) the meter's maximum
continuous flow rating over the hours between, or (b) the customer class's daily ceiling over the days
between, is held - a 70x read must not be billed (issue 9). Both are District data
(data/consumption_ceilings.json). Over less than a day neither applies: short bursts are the spike rule's.
"""
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from cis_metering.domain.model import GALLONS_PER_HCF, UNITS_PER_HCF

RULE = "consumption_ceiling"
MIN_HOURS = Decimal(24)
FIGURE_PLACES = Decimal("0.01")


@dataclass(frozen=True, eq=False)  # hashed by identity: one table per process
class CeilingTable:
    meter_gpm: dict  # {meter size: maximum continuous flow in gpm}
    class_hcf_per_day: dict  # {customer class: HCF a day, or None for no class ceiling}
    per_dwelling_unit: frozenset  # classes whose daily ceiling is per dwelling unit
    meter_source: str = ""


@dataclass(frozen=True)
class UsageCeiling:
    """One meter's ceilings, worked out once per batch from its size and its open account's class."""
    meter_size: str
    meter_gpm: Decimal | None
    customer_class: str | None
    class_hcf_per_day: Decimal | None  # dwelling units applied
    # The smaller of the two per hour in the register's unit, for a quick first check of every block.
    per_hour_in_unit: float


@lru_cache(maxsize=1024)  # a batch asks for thousands of meters of a few kinds
def usage_ceiling(table: CeilingTable, meter_size: str, unit: str, customer_class: str | None,
                  dwelling_units: int | None) -> UsageCeiling | None:
    gpm = table.meter_gpm.get(meter_size)
    per_day = table.class_hcf_per_day.get(customer_class) if customer_class else None
    if per_day is not None and customer_class in table.per_dwelling_unit:
        per_day *= dwelling_units or 1
    hourly = [value for value in (_meter_hcf_per_hour(gpm) if gpm else None, per_day / 24 if per_day else None)
              if value is not None]
    if not hourly:
        return None
    return UsageCeiling(meter_size, gpm, customer_class, per_day, float(min(hourly) * UNITS_PER_HCF[unit]))


def _meter_hcf_per_hour(gpm: Decimal) -> Decimal:
    return gpm * 60 / GALLONS_PER_HCF


def may_exceed(ceiling: UsageCeiling | None, previous_value: float, value: float, seconds: float) -> bool:
    """The quick check run for every block (floats: a filter only; over_ceiling decides in Decimal)."""
    return ceiling is not None and value - previous_value > ceiling.per_hour_in_unit * max(seconds / 3600, 24)


def over_ceiling(ceiling: UsageCeiling, previous_at: datetime, previous_value: Decimal, read_at: datetime,
                 value: Decimal, unit: str) -> tuple[str, dict] | None:
    """(reason, details) when the use from the previous valid reading to this one is over a ceiling."""
    use = (value - previous_value) / UNITS_PER_HCF[unit]
    hours = Decimal((read_at - previous_at).total_seconds()) / 3600
    counted_hours = max(hours, MIN_HOURS)
    by_meter = _meter_hcf_per_hour(ceiling.meter_gpm) * counted_hours if ceiling.meter_gpm else None
    by_class = ceiling.class_hcf_per_day * counted_hours / 24 if ceiling.class_hcf_per_day else None
    over = [name for name, limit in (("meter_rating", by_meter), ("class_ceiling", by_class))
            if limit is not None and use > limit]
    if not over:
        return None
    days = counted_hours / 24
    limits = {}
    if by_class is not None:
        limits["class_ceiling"] = (f"the {ceiling.customer_class} ceiling of {_q(by_class)} HCF "
                                   f"({_q(ceiling.class_hcf_per_day)} HCF/day x {_q(days)} days)")
    if by_meter is not None:
        limits["meter_rating"] = (f"the {ceiling.meter_size}\" meter's maximum continuous flow of {_q(by_meter)} HCF "
                                  f"({ceiling.meter_gpm} gpm x {_q(counted_hours)} h)")
    reason = (f"{_q(use)} HCF since the valid reading of {previous_at.isoformat()}, with too little history for "
              f"the high-use rule: above {' and '.join(limits[name] for name in over)}"
              + "".join(f"; within {text}" for name, text in limits.items() if name not in over))
    return reason, {"use_hcf": str(_q(use)), "hours": str(_q(hours)), "over": over,
                    "meter_size": ceiling.meter_size, "meter_max_gpm": None if ceiling.meter_gpm is None
                    else str(ceiling.meter_gpm), "meter_limit_hcf": None if by_meter is None else str(_q(by_meter)),
                    "customer_class": ceiling.customer_class,
                    "class_hcf_per_day": None if ceiling.class_hcf_per_day is None else str(ceiling.class_hcf_per_day),
                    "class_limit_hcf": None if by_class is None else str(_q(by_class)),
                    "previous_at": previous_at.isoformat(), "previous": str(previous_value), "reading": str(value)}


def _q(value: Decimal) -> Decimal:
    return value.quantize(FIGURE_PLACES, ROUND_HALF_UP)
