"""Metering rules: register units, reading periods, consumption between two register reads."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from cis_runtime.errors import Conflict, InvalidInput

DISTRICT_ZONE = ZoneInfo("America/Los_Angeles")

# AWWA M1: 1 HCF = 100 ft3 = 748.052 US gallons.
GALLONS_PER_HCF = Decimal("748.052")
CUBIC_FEET_PER_HCF = Decimal("100")
UNITS_PER_HCF = {"HCF": Decimal(1), "gallons": GALLONS_PER_HCF, "cubic_feet": CUBIC_FEET_PER_HCF}
# Converted quantities keep 0.0001 HCF (0.07 gal): finer than any register, coarse enough to be exact.
HCF_PLACES = Decimal("0.0001")

IN_STOCK, INSTALLED, REMOVED = "in_stock", "installed", "removed"


# 1 acre-foot = 43,560 ft3 = 435.6 HCF; deliveries to other agencies are reported to 0.001 AF.
HCF_PER_ACRE_FOOT = Decimal("435.6")
ACRE_FEET_PLACES = Decimal("0.001")


def acre_feet(hcf: Decimal) -> Decimal:
    return (Decimal(hcf) / HCF_PER_ACRE_FOOT).quantize(ACRE_FEET_PLACES, ROUND_HALF_UP)


def to_hcf(value: Decimal, unit: str) -> Decimal:
    if unit == "HCF":
        return value
    return (value / UNITS_PER_HCF[unit]).quantize(HCF_PLACES)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the District's zone (PST or PDT as the date falls)."""
    return datetime.combine(day, time(0), tzinfo=DISTRICT_ZONE)


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """The instants bounding a billing period of whole local days: its start instant (midnight starting
    period_start) and its end instant (midnight after period_end), where the next period starts.

    The read boundary rule (docs/metering.md, "The read boundary rule"), for every path that bounds a
    period by reads - determinants v1/v2/v3, estimates, true-ups, exchanges, closures, agency deliveries:
    a register read at instant t is the register's value at t; a period's start read is the latest valid
    read at or before its start instant and its end read the latest valid read at or before its end
    instant, so a read at a boundary ends one period and starts the next and consecutive periods tile
    exactly (nothing billed twice or never); an estimate is placed at the end instant; an interval [a, b)
    counts in the period containing a."""
    return start_of_day(period_start), start_of_day(period_end + timedelta(days=1))


def check_installable(meter_status: str, serial: str) -> None:
    if meter_status != IN_STOCK:
        raise Conflict(f"meter {serial} is {meter_status}; remove it before installing it again")


def check_fits_register(reading: Decimal, register_digits: int, field: str) -> None:
    """A register with n digits shows at most 10^n - 1 whole units; a larger reading is a typo."""
    if reading >= Decimal(10) ** register_digits:
        raise InvalidInput({field: [f"Reading does not fit a {register_digits}-digit register."]})


@dataclass(frozen=True)
class Read:
    value: Decimal
    unit: str
    read_at: datetime

    @property
    def hcf(self) -> Decimal:
        return to_hcf(self.value, self.unit)


def register_range(register_digits: int) -> Decimal:
    """A register of n digits counts 0 .. 10^n - 1 units, then starts again at 0 (a rollover)."""
    return Decimal(10) ** register_digits


def forward_advance(start: Decimal, end: Decimal, register_digits: int | None) -> Decimal:
    """How far a register ran forward from `start` to `end`, across its top if it fell (a register that
    only runs forward and reads less has passed its top). Without digits, the plain difference."""
    if register_digits is None or end >= start:
        return end - start
    return end - start + register_range(register_digits)


def wrapped(value: Decimal, register_digits: int | None) -> Decimal:
    """A reading past the register's top as the register shows it."""
    if register_digits is None:
        return value
    top = register_range(register_digits)
    return value - top if value >= top else value


def difference_modulo(value: Decimal, reference: Decimal, register_digits: int | None) -> Decimal:
    """value - reference on a register that may have rolled over between them: the difference of least
    size modulo the register's range (an estimate of 21 on a register whose true value was 9,998 was 23
    too high, not 9,977 too low)."""
    difference = value - reference
    if register_digits is None:
        return difference
    top = register_range(register_digits)
    if difference > top / 2:
        return difference - top
    if difference < -top / 2:
        return difference + top
    return difference


def register_step(*readings: Decimal) -> Decimal:
    """The register's step as its readings show it (whole units, tenths, ...): the finest decimal place
    any of them uses. Readings that happen to be whole on a finer register read as whole units."""
    places = max(max(-reading.normalize().as_tuple().exponent, 0) for reading in readings)
    return Decimal(1).scaleb(-places)
