"""What billing is told an account used in a period: pure calculation, no I/O.

The repository finds, per account, its current meter and for each of the meter's registers (one,
`main`; a compound meter has `high` and `low`) the start and end reads. This module turns those into
a determinant - the registers' advances summed and multiplied by the meter's register multiplier,
in HCF - or the reason there is none. How the reads are fetched (batching, transport) is separate,
so it can change without touching these rules.
"""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cis_metering.domain.model import DISTRICT_ZONE, Read, register_range, to_hcf
from cis_metering.domain.vee import is_rollover

COMPOUND_REGISTERS = ("high", "low")
# A confirmed fall up to this many HCF is reverse flow (back-siphonage, thermal expansion) and netted
# against later use; a larger one is a register reset or a misread, reported missing until staff edit
# the reading or record the exchange, never carried as months of credit.
MAX_NETTED_REVERSE_FLOW_HCF = Decimal(10)


@dataclass(frozen=True)
class RegisterPeriod:
    """One register's reads bounding the period (None where none was found)."""
    register: str
    start: Read | None
    end: Read | None


@dataclass(frozen=True)
class MeterOnAccount:
    """What the consumption query found for one requested account (None where nothing was found)."""
    account_id: str
    known_account: bool
    meter_serial: str | None = None
    meter_size: str | None = None
    installed_at: datetime | None = None
    multiplier: Decimal = Decimal(1)
    registers: tuple[RegisterPeriod, ...] = ()
    register_digits: int | None = None  # to count use across a rollover


def determinant_or_missing(found: MeterOnAccount, period_end_at: datetime) -> tuple[dict | None, dict | None]:
    """(determinant, None) when every register has a start and an end read, else (None, missing).

    Consumption = sum over registers of (end - start), times the multiplier, in HCF. start_read and
    end_read are the registers' readings summed and multiplied the same way, so that
    end_read - start_read = consumption (across a rollover end_read counts on past the register's top:
    999,990 to 30 on a 6-digit register is 1,000,030 - 999,990 = 40). A missing read is reported as
    missing with its reason, never as zero consumption: billing then estimates or holds the bill
    instead of charging nothing.
    """
    reason = _missing_reason(found, period_end_at)
    if reason:
        return None, {"account_id": found.account_id, "reason": reason}
    start_read = end_read = Decimal(0)
    for period in found.registers:  # one register, or high and low: a loop, not generators (100,000 accounts)
        start, end = period.start.hcf, period.end.hcf
        if end < start and _rolled_over(period, found.register_digits):
            end += to_hcf(register_range(found.register_digits), period.end.unit)  # counted past the top
        elif end < start:
            # A fall between billing reads that is no rollover is a reset or misread.
            where = "" if period.register == "main" else f" on the {period.register} register"
            return None, {"account_id": found.account_id,
                          "reason": f"negative consumption ({end - start} HCF){where}: rollover, reset or misread"}
        start_read, end_read = start_read + start, end_read + end
    if found.multiplier != 1:
        start_read, end_read = start_read * found.multiplier, end_read * found.multiplier
    first = found.registers[0]
    start_at, end_at = first.start.read_at, first.end.read_at
    for period in found.registers[1:]:
        # A compound meter's registers are read together; if not, the later reading bounds the period.
        start_at, end_at = max(start_at, period.start.read_at), max(end_at, period.end.read_at)
    return {
        "account_id": found.account_id, "meter_serial": found.meter_serial, "meter_size": found.meter_size,
        "start_read": start_read, "start_read_at": start_at.astimezone(DISTRICT_ZONE),
        "end_read": end_read, "end_read_at": end_at.astimezone(DISTRICT_ZONE),
        "consumption": end_read - start_read, "unit": "HCF", "quality": "actual",
    }, None


def end_netting_reverse_flow(start: Read, end: Read, register_digits: int | None) -> Read:
    """The end a register's period is billed to: its end read, unless the register fell below the start.

    A fall that is no rollover and reaches the bill run is a confirmed reverse flow: VEE holds every fall
    as a read exception and the bill run holds an account with an unresolved one, so staff accepted it.
    The period then bills no water and ends at its start reading (at the end read's instant): the next
    period starts there, so the water that flowed back is netted against the next use, never billed twice
    or negative. Billed periods still tile the register: their sum is the last billed end minus the
    first start. A fall larger than MAX_NETTED_REVERSE_FLOW_HCF is left as it is (reported missing).
    """
    if end.hcf >= start.hcf or start.hcf - end.hcf > MAX_NETTED_REVERSE_FLOW_HCF or (
            register_digits is not None and is_rollover(start.value, end.value, register_range(register_digits))):
        return end
    return Read(start.value, start.unit, end.read_at)


def _rolled_over(period: RegisterPeriod, register_digits: int | None) -> bool:
    """The register passed its top between the period's reads (VEE's rollover rule: from its top tenth to
    its bottom tenth)."""
    return register_digits is not None and is_rollover(period.start.value, period.end.value,
                                                       register_range(register_digits))


def _missing_reason(found: MeterOnAccount, period_end_at: datetime) -> str | None:
    if not found.known_account:
        return "unknown account"
    if found.meter_serial is None:
        return "no meter installed on the account's connection"
    if found.installed_at >= period_end_at:
        return "meter installed after the period"
    for period in found.registers:
        if period.end is None or period.start is None or period.end.read_at <= period.start.read_at:
            where = "" if period.register == "main" else f" on the {period.register} register"
            return f"no read in the period{where}"
    return None


# A determinant is as good as its worse read: an estimate anywhere makes it estimated (to be trued up
# by the next actual read), a staff edit makes it edited.
_QUALITY_RANK = {"actual": 0, "edited": 1, "estimated": 2}


def worst_quality(*qualities: str) -> str:
    return max(qualities, key=_QUALITY_RANK.__getitem__)
