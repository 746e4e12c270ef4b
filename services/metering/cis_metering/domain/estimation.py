"""Estimating a missing billing read, and truing an estimate up when actual reads arrive: pure rules.

When billing asks for determinants with estimation and a register has no actual read after the
period's start read, its end-of-period reading is estimated from the last actual reading:
1. average daily use over the meter's recent history (`history_days` before the last actual read,
   at least `min_history_days` of it), else
2. the same period last year (the register's advance between the reads bounding the period a year
   earlier, per day).
A register with neither stays missing: never a zero bill. The estimate is stored (billing_estimates)
and the next period starts from it. When an actual read later closes a period that starts from an
estimate, the true value at the estimate's instant (the actual read there, or interpolated between
the actual reads either side) shows how far off the estimate was: that difference is the true-up.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from cis_metering.domain.model import Read, forward_advance, register_step, wrapped
from cis_metering.domain.worklist import interpolate

ESTIMATE_PLACES = Decimal("0.01")
SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True)
class EstimationPolicy:
    """District settings for billing-read estimation (documented in docs/metering.md)."""
    # Average daily use is taken over at most this many days before the last actual read ...
    history_days: int = 90
    # ... and needs at least this many days of it to be an average worth billing on.
    min_history_days: int = 7
    # A register estimated this many billing periods in a row gets a field check (prolonged estimation).
    max_consecutive_estimates: int = 3
    # An end read taken more than this many days before the period end is stale: the end is estimated from
    # it (and trued up later) rather than billed as the period's end. None: any end read is used as it is.
    stale_end_read_days: int | None = 7


DEFAULT_POLICY = EstimationPolicy()


@dataclass(frozen=True)
class Estimate:
    value: Decimal  # the register reading at `read_at`, in the register's unit
    read_at: datetime
    method: str  # average_daily_use | same_period_last_year
    basis: dict  # the reads and the daily rate it came from, for the customer and staff


def _days(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start).total_seconds()) / SECONDS_PER_DAY


def estimate_end_read(last_actual: Read, period_end_at: datetime, history_start: Read | None,
                      last_year: tuple[Read, Read] | None, previous_estimate: Read | None,
                      policy: EstimationPolicy = DEFAULT_POLICY, register_digits: int | None = None
                      ) -> Estimate | None:
    """The register's estimated reading at the end of the period, or None when there is nothing to
    estimate from. `history_start` is the earliest actual read within policy.history_days before
    `last_actual`; `last_year` the reads bounding the same period a year earlier. With `register_digits`
    use is counted across a rollover and the estimate wraps past the register's top as the register would."""
    days_to_end = _days(last_actual.read_at, period_end_at)
    rate, method, basis = None, None, {}
    if history_start is not None and _days(history_start.read_at, last_actual.read_at) >= policy.min_history_days:
        span = _days(history_start.read_at, last_actual.read_at)
        rate = forward_advance(history_start.value, last_actual.value, register_digits) / span
        method = "average_daily_use"
        basis = {"from_read": _described(history_start), "to_read": _described(last_actual),
                 "days": str(span.quantize(ESTIMATE_PLACES))}
    elif last_year is not None and last_year[1].read_at > last_year[0].read_at:
        start, end = last_year
        span = _days(start.read_at, end.read_at)
        rate = forward_advance(start.value, end.value, register_digits) / span
        method = "same_period_last_year"
        basis = {"from_read": _described(start), "to_read": _described(end),
                 "days": str(span.quantize(ESTIMATE_PLACES))}
    if rate is None or rate < 0:
        return None
    # An estimate is a reading the register could show: in its steps, the last step not yet completed
    # left to the next period (bills count whole units: 641.5 on a whole-HCF register billed 264 and
    # then 258 of 264.5 + 258.5, losing a unit at every estimate).
    step = max(register_step(last_actual.value), ESTIMATE_PLACES)
    value = (last_actual.value + rate * days_to_end).quantize(step, ROUND_FLOOR).quantize(ESTIMATE_PLACES)
    if previous_estimate is not None:  # a register does not run backwards between two estimates
        value = max(value, last_actual.value + forward_advance(last_actual.value, previous_estimate.value,
                                                               register_digits))
    value = wrapped(value, register_digits)
    basis.update(daily_use=str(rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)), unit=last_actual.unit,
                 last_actual_read=_described(last_actual), days_estimated=str(days_to_end.quantize(ESTIMATE_PLACES)))
    return Estimate(value, period_end_at, method, basis)


def true_value_at(at: datetime, actual_before: Read, actual_after: Read | None,
                  register_digits: int | None = None) -> tuple[Decimal, str] | None:
    """What the register really read at `at` (an estimate's instant), from actual reads: the read
    taken there, or interpolated between the actual reads either side (across a rollover between them,
    given the register's digits). None without a read after it."""
    if actual_before.read_at == at:
        return actual_before.value, "actual read at the estimate's instant"
    if actual_after is None:
        return None
    unwrapped_after = actual_before.value + forward_advance(actual_before.value, actual_after.value, register_digits)
    value = wrapped(interpolate(at, (actual_before.read_at, actual_before.value),
                                (actual_after.read_at, unwrapped_after)), register_digits)
    return value, (f"interpolated between the actual reads of {actual_before.read_at.isoformat()} and "
                   f"{actual_after.read_at.isoformat()}")


def last_year_bounds(period_start_at: datetime, period_end_at: datetime) -> tuple[datetime, datetime]:
    """The same period a year earlier (365 days back: the same season)."""
    return period_start_at - timedelta(days=365), period_end_at - timedelta(days=365)


def _described(read: Read) -> dict:
    return {"read_at": read.read_at.isoformat(), "value": str(read.value)}
