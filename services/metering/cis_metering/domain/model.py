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
    """The instants bounding a billing period of whole local days: [start, end)."""
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


@dataclass(frozen=True)
class MeterOnAccount:
    """What the consumption query found for one requested account (None where nothing was found)."""
    account_id: str
    known_account: bool
    meter_serial: str | None = None
    meter_size: str | None = None
    installed_at: datetime | None = None
    start: Read | None = None
    end: Read | None = None


def determinant_or_missing(found: MeterOnAccount, period_end_at: datetime) -> tuple[dict | None, dict | None]:
    """(determinant, None) when the account has an actual start and end read, else (None, missing).

    A missing read is reported as missing with its reason, never as zero consumption: billing
    then estimates or holds the bill instead of charging nothing.
    """
    reason = _missing_reason(found, period_end_at)
    if reason:
        return None, {"account_id": found.account_id, "reason": reason}
    consumption = found.end.hcf - found.start.hcf
    if consumption < 0:
        # Register rollover (past 10^digits) and meter resets are later work (VEE): until then a
        # negative difference is held for review rather than guessed at.
        return None, {"account_id": found.account_id,
                      "reason": f"negative consumption ({consumption} HCF): rollover, reset or misread"}
    return {
        "account_id": found.account_id, "meter_serial": found.meter_serial, "meter_size": found.meter_size,
        "start_read": found.start.hcf, "start_read_at": found.start.read_at.astimezone(DISTRICT_ZONE),
        "end_read": found.end.hcf, "end_read_at": found.end.read_at.astimezone(DISTRICT_ZONE),
        "consumption": consumption, "unit": "HCF", "quality": "actual",
    }, None


def _missing_reason(found: MeterOnAccount, period_end_at: datetime) -> str | None:
    if not found.known_account:
        return "unknown account"
    if found.meter_serial is None:
        return "no meter installed on the account's connection"
    if found.installed_at >= period_end_at:
        return "meter installed after the period"
    if found.end is None or found.start is None or found.end.read_at <= found.start.read_at:
        return "no read in the period"
    return None


# A determinant is as good as its worse read: an estimate anywhere makes it estimated (to be trued up
# by the next actual read), a staff edit makes it edited.
_QUALITY_RANK = {"actual": 0, "edited": 1, "estimated": 2}


def worst_quality(*qualities: str) -> str:
    return max(qualities, key=_QUALITY_RANK.__getitem__)
