"""The bill calculation: (tariffs, account attributes, billing determinants, period) -> lines.

A pure function. Each line says which tariff version and which charge of it produced the
line, and the quantity, unit, rate, tier bounds, days and proration behind the amount, so
"why is my bill this amount" is answered from the lines alone.

Rules the calculation follows (docs/tariffs.md gives examples):
- Periods are District days, both ends inclusive.
- Rounding: every line's amount is rounded on its own, half-up to the cent unless the tariff's
  `rounding.amounts` says otherwise; the bill total is the sum of the rounded lines.
- A period crossing a rate change (a new tariff version, or a charge switched on or off by date)
  is split into segments at the change. Fixed charges are prorated by the days of each segment.
  Consumption is split by days in proportion ("daily proration": equal use every day), in whole
  consumption increments by largest remainder so the parts add up to the billed usage.
- Monthly charges are prorated by `proration_basis`: `actual_days` (days in each calendar month
  over that month's length, so a whole calendar month is exactly one month) or `30_day_month`
  (days / 30).
"""
import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from cis_billing.domain.tariff_document import Charge, Tariff
from cis_billing.domain.units import CENT, ROUNDING_MODES, convert, round_to, to_cents

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
QUANTITY_PLACES = Decimal("0.000001")  # how exact a prorated quantity is shown (amounts use the exact value)


class CannotBill(Exception):
    """The account cannot be billed as things stand (the reason goes to the run's exceptions)."""


class Line(NamedTuple):  # a named tuple: immutable, and cheap to build 100,000s of times
    tariff: str            # tariff_id@version
    rule: str              # the charge kind
    charge: str            # where the charge sits in the tariff document, e.g. "charges[1]"
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    tier_from: Decimal | None = None
    tier_to: Decimal | None = None
    days: int | None = None
    proration: str | None = None
    true_up_of: str | None = None  # the bill (or estimate) whose usage this line corrects (domain/true_ups.py)


# The charges that bill the period's use itself (a unit of water is on exactly one of their lines).
USAGE_RULES = ("volumetric", "tiered", "budget_tiered", "wholesale")


@dataclass(frozen=True)
class Account:
    customer_class: str
    meter_size: str
    dwelling_units: int = 1
    residents: int | None = None
    landscape_area_sqft: Decimal | None = None
    budget_variance: Decimal = ZERO          # in the budget charge's unit, per bill
    fire_line_size: str | None = None
    winter_average: Decimal | None = None    # average monthly use in the winter months, billing unit


@dataclass(frozen=True)
class Determinants:
    consumption: Decimal
    unit: str = "HCF"
    et_inches: Decimal | None = None         # reference evapotranspiration over the period


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def bill_total(lines) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))


def calculate(tariffs: list[Tariff], account: Account, determinants: Determinants, period: Period) -> list[Line]:
    """The lines of one bill. `tariffs` may hold every stored version; those in effect are used."""
    return BillPlan(tariffs, account.customer_class, period).lines(account, determinants)


class BillPlan:
    """The tariffs compiled for one customer class and one period (what a bill run bills many
    accounts on): the segments, their active charges, and the fixed lines by meter size are worked
    out once; `lines` then does only what depends on the account and its usage."""

    def __init__(self, tariffs: list[Tariff], customer_class: str, period: Period):
        self.period = period
        segments = _segments(tariffs, customer_class, period)
        split = len(segments) > 1
        self.segments = []
        for tariff, segment in segments:
            active = [c for c in tariff.charges if _active(c, segment) and c.rule != "minimum_charge"]
            self.segments.append((_Segment(tariff, period, segment, split),
                                  [c for c in active if not _is_percentage(c)], [c for c in active if _is_percentage(c)]))
        self.last = segments[-1][0]
        self.minimums = [c for c in self.last.charges if c.rule == "minimum_charge" and _active(c, period)]
        rounding = self.last.consumption_rounding
        self.increment = rounding.increment if rounding else Decimal("0.0001")
        self.days = [segment.days for _, segment in segments]

    def billed_usage(self, determinants: Determinants) -> Decimal:
        if determinants.consumption < 0:
            raise CannotBill(f"negative consumption {determinants.consumption} {determinants.unit}")
        usage = convert(determinants.consumption, determinants.unit, self.last.billing_unit)
        rounding = self.last.consumption_rounding
        return round_to(usage, rounding.increment, rounding.mode) if rounding else usage

    def lines(self, account: Account, determinants: Determinants) -> list[Line]:
        shares = split_by_days(self.billed_usage(determinants), self.days, self.increment)
        lines = []
        for (context, charges, percentages), usage in zip(self.segments, shares):
            segment_lines = []
            for charge in charges:
                segment_lines.extend(context.charge_lines(charge, account, determinants, usage))
            # A percentage surcharge is priced on the segment's other lines, so it comes after them.
            segment_lines.extend(_percent_surcharge(context, c, segment_lines) for c in percentages)
            lines.extend(segment_lines)
        for charge in self.minimums:
            lines.extend(_minimum(self.last, charge, lines))
        return lines


def split_by_days(total: Decimal, days: list[int], increment: Decimal) -> list[Decimal]:
    """Split `total` in proportion to `days`, in multiples of `increment`, losing nothing.

    Largest remainder: each part is first rounded down, then the increments left over go to
    the parts with the largest remainders (earliest first on ties); a residue smaller than one
    increment (usage finer than the increment) goes to the part with the largest remainder.
    """
    if len(days) == 1:
        return [total]
    whole = sum(days)
    exact = [total * d / whole for d in days]
    parts = [round_to(e, increment, "down") for e in exact]
    order = sorted(range(len(days)), key=lambda i: (-(exact[i] - parts[i]), i))
    left = total - sum(parts)
    for i in order:
        if left < increment:
            break
        parts[i] += increment
        left -= increment
    parts[order[0]] += left
    return parts


# --- which tariff applies when --------------------------------------------------------------

def tariff_on(tariffs: list[Tariff], customer_class: str, day: date) -> Tariff:
    """The version in effect on `day` for the class: the latest effective date, then the latest version."""
    candidates = [t for t in tariffs if customer_class in t.customer_classes and t.effective_from <= day
                  and (t.effective_to is None or day <= t.effective_to)]
    if not candidates:
        raise CannotBill(f"no tariff in effect on {day.isoformat()} for customer class {customer_class}")
    return max(candidates, key=lambda t: (t.effective_from, t.version))


def _segments(tariffs: list[Tariff], customer_class: str, period: Period) -> list[tuple[Tariff, Period]]:
    """The period cut wherever the tariff in effect, or a charge's activity, changes."""
    relevant = [t for t in tariffs if customer_class in t.customer_classes]
    cuts = set()
    for t in relevant:
        cuts.update((_day_after(t.effective_to), t.effective_from))
        for c in t.charges:
            cuts.update((c.active_from, _day_after(c.active_to)))
    cuts = sorted(d for d in cuts if d is not None and period.start < d <= period.end)
    starts = [period.start, *cuts]
    ends = [d - timedelta(days=1) for d in cuts] + [period.end]
    return [(tariff_on(relevant, customer_class, s), Period(s, e)) for s, e in zip(starts, ends)]


def _day_after(day: date | None) -> date | None:
    return day + timedelta(days=1) if day else None


def _active(charge: Charge, segment: Period) -> bool:
    return ((charge.active_from is None or charge.active_from <= segment.start)
            and (charge.active_to is None or segment.end <= charge.active_to))


# --- one segment of the period --------------------------------------------------------------

class _Segment:
    """One stretch of the period under one tariff version (the whole period when nothing changes)."""

    def __init__(self, tariff: Tariff, period: Period, segment: Period, split: bool):
        self.tariff, self.period, self.segment, self.split = tariff, period, segment, split
        self.label, self.rounding = tariff.label, ROUNDING_MODES[tariff.amount_rounding]
        self._fixed: dict = {}    # fixed lines by (charge, meter size, fire line size)
        self._bounds: dict = {}   # tier bounds by (charge, dwelling units)

    def charge_lines(self, charge: Charge, account: Account, determinants: Determinants, usage: Decimal):
        if charge.rule in _FIXED or (charge.rule == "sewer" and charge.basis == "flat"):
            key = (charge.path, account.meter_size, account.fire_line_size)
            found = self._fixed.get(key)
            if found is None:
                found = self._fixed[key] = _CHARGES[charge.rule](self, charge, account, determinants, usage)
            return found
        return _CHARGES[charge.rule](self, charge, account, determinants, usage)

    @property
    def days(self) -> int:
        return self.segment.days

    def line(self, charge: Charge, description: str, quantity: Decimal, unit: str, rate: Decimal,
             amount: Decimal, tier_from=None, tier_to=None, days=None, proration=None) -> Line:
        return Line(self.label, charge.rule, charge.path, description, quantity, unit, rate,
                    amount.quantize(CENT, rounding=self.rounding), tier_from, tier_to,
                    days if days is not None or not self.split else self.days, proration)

    def months(self) -> tuple[Decimal, str]:
        """The segment's length in months under the tariff's proration basis, and how it was counted."""
        if self.tariff.proration_basis == "30_day_month":
            return Decimal(self.days) / 30, f"{self.days}/30 days"
        months, parts, day = ZERO, [], self.segment.start
        while day <= self.segment.end:
            length = calendar.monthrange(day.year, day.month)[1]
            month_end = min(self.segment.end, day.replace(day=length))
            days = (month_end - day).days + 1
            months += Decimal(days) / length
            parts.append(f"{days}/{length} days")
            day = month_end + timedelta(days=1)
        return months, " + ".join(parts)

    def share_of_period(self) -> Decimal:
        return Decimal(self.days) / self.period.days


def _fixed(context: _Segment, charge: Charge, rate: Decimal, description: str) -> Line:
    """A charge stated per month, per day or per bill, for this segment's days."""
    if charge.per == "day":
        return context.line(charge, description, Decimal(context.days), "day", rate, rate * context.days,
                            days=context.days)
    if charge.per == "bill":
        share = context.share_of_period()
        proration = f"{context.days}/{context.period.days} days" if context.split else None
        return context.line(charge, description, share.quantize(QUANTITY_PLACES).normalize(), "bill", rate,
                            rate * share, proration=proration)
    months, how = context.months()
    full_month = months == ONE
    return context.line(charge, description, ONE if full_month else months.quantize(QUANTITY_PLACES).normalize(),
                        "month", rate, rate * months, days=None if full_month else context.days,
                        proration=None if full_month else how)


def _by_meter_size(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                   usage: Decimal) -> list[Line]:
    size = account.meter_size
    if size not in charge.rates:
        raise CannotBill(f'tariff {context.tariff.label} has no service charge for a {size}" meter ({charge.path})')
    return [_fixed(context, charge, charge.rates[size], charge.description.format(meter_size=size))]


def _fixed_surcharge(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                     usage: Decimal) -> list[Line]:
    return [_fixed(context, charge, charge.rate, charge.description.format(meter_size=account.meter_size))]


def _fire_service(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                  usage: Decimal) -> list[Line]:
    size = account.fire_line_size
    if size is None:
        return []
    if size not in charge.rates:
        raise CannotBill(f'tariff {context.tariff.label} has no private fire service charge for a {size}" line')
    return [_fixed(context, charge, charge.rates[size], charge.description.format(line_size=size))]


def _volumetric(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                usage: Decimal) -> list[Line]:
    quantity = convert(usage, context.tariff.billing_unit, charge.unit)
    return [context.line(charge, charge.description, quantity, charge.unit, charge.rate, quantity * charge.rate)]


def _tiered(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
            usage: Decimal) -> list[Line]:
    usage = convert(usage, context.tariff.billing_unit, charge.unit)
    key = (charge.path, account.dwelling_units)
    blocks = context._bounds.get(key)
    if blocks is None:
        blocks = context._bounds[key] = _tier_blocks(charge, [
            None if t.upto is None else _scaled_width(context, charge, account, t.upto) for t in charge.tiers])
    return _tier_lines(context, charge, usage, blocks)


def _scaled_width(context: _Segment, charge: Charge, account: Account, upto: Decimal) -> Decimal:
    bound = upto
    if charge.scale_by_dwelling_units:
        bound *= max(account.dwelling_units, 1)
    if charge.days_basis == "annual":
        bound = bound * context.days / charge.days_in_year
    elif charge.days_basis == "monthly":
        bound = bound * 12 * context.days / charge.days_in_year
    elif context.split:  # widths adopted per bill: a segment gets its share of days
        bound *= context.share_of_period()
    if charge.width_rounding:
        bound = round_to(bound, charge.width_rounding.increment, charge.width_rounding.mode)
    return bound


def _tier_blocks(charge: Charge, bounds: list) -> tuple:
    """Each tier as (number, lower, upper, rate, description); upper None = open-ended."""
    blocks, lower = [], ZERO
    for number, (tier, bound) in enumerate(zip(charge.tiers, bounds), start=1):
        upper = max(bound, lower) if bound is not None else None
        span = f"{_plain(lower)} to {_plain(upper)}" if upper is not None else f"over {_plain(lower)}"
        blocks.append((number, lower, upper, tier.rate, f"{charge.description}, tier {number} ({span} {charge.unit})"))
        if upper is None:
            break
        lower = upper
    return tuple(blocks)


def _tier_lines(context: _Segment, charge: Charge, usage: Decimal, blocks: tuple) -> list[Line]:
    lines = []
    for number, lower, upper, rate, description in blocks:
        in_tier = usage - lower if upper is None or usage < upper else upper - lower
        if in_tier > 0 or number == 1:  # tier 1 shows even at zero use
            lines.append(context.line(charge, description, in_tier, charge.unit, rate, in_tier * rate,
                                      tier_from=lower, tier_to=upper))
        if upper is None or usage <= upper:
            break
    return lines


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def water_budget(context: _Segment, charge: Charge, account: Account, determinants: Determinants) -> Decimal:
    """Indoor (residents x gallons/person/day x days) + outdoor (area x ET x plant factor x
    conversion) in gallons, converted to the charge's unit, plus the account's variance."""
    budget = charge.budget
    if account.residents is None and account.landscape_area_sqft is None and not account.budget_variance:
        raise CannotBill("no water budget: the account has neither residents nor a landscape area")
    et = determinants.et_inches
    if et is None and budget["reference_et_inches"] is not None:
        et = budget["reference_et_inches"] * context.days / 30  # stated per 30 days
    if account.landscape_area_sqft and et is None:
        raise CannotBill("no water budget: no evapotranspiration (ET) for the period")
    indoor = (account.residents or 0) * budget["gallons_per_person_per_day"] * context.days
    outdoor = (account.landscape_area_sqft or ZERO) * (et or ZERO) * budget["plant_factor"] * budget["conversion"]
    variance = account.budget_variance * (context.share_of_period() if context.split else ONE)
    return convert(indoor + outdoor, "gallons", charge.unit) + variance


def _budget_tiered(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                   usage: Decimal) -> list[Line]:
    usage = convert(usage, context.tariff.billing_unit, charge.unit)
    budget = water_budget(context, charge, account, determinants)
    bounds = []
    for tier in charge.tiers:
        bound = None if tier.upto is None else budget * tier.upto / HUNDRED
        if bound is not None and charge.width_rounding:
            bound = round_to(bound, charge.width_rounding.increment, charge.width_rounding.mode)
        bounds.append(bound)
    return _tier_lines(context, charge, usage, _tier_blocks(charge, bounds))


def _is_percentage(charge: Charge) -> bool:
    return charge.rule == "shortage_surcharge" and charge.percent is not None


def _shortage_surcharge(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
                        usage: Decimal) -> list[Line]:
    quantity = convert(usage, context.tariff.billing_unit, charge.unit)
    return [context.line(charge, charge.description, quantity, charge.unit, charge.rate, quantity * charge.rate)]


def _percent_surcharge(context: _Segment, charge: Charge, lines: list[Line]) -> Line:
    """percent% of this segment's rounded lines of the kinds it applies to (quantity: that base, in $)."""
    base = sum((l.amount for l in lines if l.rule in charge.applies_to), ZERO)
    rate = charge.percent / HUNDRED
    return context.line(charge, charge.description, base, "USD", rate, base * rate)


def _sewer(context: _Segment, charge: Charge, account: Account, determinants: Determinants,
           usage: Decimal) -> list[Line]:
    if charge.basis == "flat":
        return [_fixed(context, charge, charge.rate, charge.description)]
    usage = convert(usage, context.tariff.billing_unit, charge.unit)
    if charge.basis == "winter_average":
        if account.winter_average is None:
            raise CannotBill("no winter average for the sewer charge")
        months, _ = context.months()
        cap = convert(account.winter_average, context.tariff.billing_unit, charge.unit) * months
        usage = min(usage, cap)
    return [context.line(charge, charge.description, usage, charge.unit, charge.rate, usage * charge.rate)]


def _minimum(tariff: Tariff, charge: Charge, lines: list[Line]) -> list[Line]:
    counted = sum((l.amount for l in lines if not charge.applies_to or l.rule in charge.applies_to), ZERO)
    if counted >= charge.amount:
        return []
    shortfall = charge.amount - counted
    return [Line(tariff.label, charge.rule, charge.path, charge.description, ONE, "bill", shortfall,
                 to_cents(shortfall, tariff.amount_rounding))]


_FIXED = ("fixed_by_meter_size", "fixed_by_meter_ratio", "fixed_surcharge", "private_fire_service")
_CHARGES = {
    "fixed_by_meter_size": _by_meter_size,
    "fixed_by_meter_ratio": _by_meter_size,
    "fixed_surcharge": _fixed_surcharge,
    "private_fire_service": _fire_service,
    "volumetric": _volumetric,
    "wholesale": _volumetric,
    "tiered": _tiered,
    "budget_tiered": _budget_tiered,
    "shortage_surcharge": _shortage_surcharge,
    "sewer": _sewer,
}
