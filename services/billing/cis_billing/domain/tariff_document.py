"""The tariff document: what the board adopts, as data, checked before anything is stored.

`parse_tariff(document)` validates a whole document (YAML or JSON already decoded to a
dict) and returns a `Tariff`; every problem is reported at once with its path, e.g.
"charges[2].tiers[1].upto: overlaps tier 0". docs/tariffs.md describes every field.
"""
import difflib
import string
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from cis_billing.domain.units import ROUNDING_MODES, UNITS

FORMAT = 2
PRORATION_BASES = ("actual_days", "30_day_month")
CHARGE_PERIODS = ("month", "day", "bill")
VOLUME_BASED = ("volumetric", "tiered", "budget_tiered")

# Meter-equivalent ratio tables a tariff may name instead of listing ratios (DOMAIN.md s.2).
RATIO_TABLES = {
    "awwa": {"5/8": "1.0", "3/4": "1.5", "1": "2.5", "1.5": "5.0", "2": "8.0", "3": "16", "4": "25",
             "6": "50", "8": "80"},
    "pleasanton": {"5/8": "1.0", "3/4": "1.5", "1": "2.5", "1.5": "5.0", "2": "8.0", "3": "17.5",
                   "4": "31.5", "6": "65", "8": "140"},
}


# The fields each place of the document may carry; anything else is a typo that would otherwise be
# ignored (`pre: day` for `per: day` billing a month's rate once a month) and is refused.
DOCUMENT_FIELDS = ("tariff_id", "version", "effective_from", "effective_to", "adopted_by", "name",
                   "customer_classes", "meter_sizes", "billing_unit", "proration_basis", "rounding", "penalties",
                   "charges")
ROUNDING_FIELDS = ("amounts", "consumption")
ROUNDING_RULE_FIELDS = ("increment", "mode")
PENALTY_FIELDS = ("percent_of_current", "monthly_percent_of_past_due", "grace_days")
CHARGE_FIELDS = ("rule", "description", "active_from", "active_to")  # every charge kind
CHARGE_KIND_FIELDS = {
    "fixed_by_meter_size": ("per", "rates"),
    "fixed_by_meter_ratio": ("per", "base", "ratios"),
    "fixed_surcharge": ("per", "rate"),
    "private_fire_service": ("per", "rates"),
    "volumetric": ("unit", "rate"),
    "wholesale": ("unit", "rate"),
    "tiered": ("unit", "tier_width", "tiers"),
    "budget_tiered": ("unit", "budget", "tiers", "tier_rounding"),
    "shortage_surcharge": ("unit", "rate", "percent", "applies_to"),
    "sewer": ("basis", "per", "unit", "rate"),
    "minimum_charge": ("amount", "applies_to"),
}
TIER_WIDTH_FIELDS = ("per_dwelling_unit", "per_days", "days_in_year", "rounding")
BUDGET_FIELDS = ("gallons_per_person_per_day", "plant_factor", "conversion", "reference_et_inches")
# What a charge's description may name, filled in on each bill line (engine.py); other kinds print
# their description as written (a tiered line adds ", tier N (from-to unit)").
PLACEHOLDERS = {
    "fixed_by_meter_size": ("meter_size",),
    "fixed_by_meter_ratio": ("meter_size",),
    "fixed_surcharge": ("meter_size",),
    "private_fire_service": ("line_size",),
}
TEXT_LIMIT = 200      # a description, a name, an id
MAX_VERSION = 9999    # the version column is an integer; a board adopts a few a year
NUMBER_LIMIT = Decimal("1000000000")  # rates, bounds, amounts: the money range (cis_contracts.fields)
MAX_DECIMALS = 12     # a rate per gallon has 6; more is a typo
NESTING_LIMIT = 12    # the document is at most five levels deep; far deeper is not a tariff


class TariffInvalid(Exception):
    """The document is not a consistent tariff: args[0] is the list of "path: problem" messages."""

    def __init__(self, problems: list[str]):
        super().__init__(problems)
        self.problems = problems

    def __str__(self):
        return "; ".join(self.problems)


@dataclass(frozen=True)
class Rounding:
    increment: Decimal
    mode: str


@dataclass(frozen=True)
class Tier:
    upto: Decimal | None  # None: open-ended last tier
    rate: Decimal


@dataclass(frozen=True)
class Charge:
    """One adopted charge. `rule` picks the calculation; the other fields are its parameters."""
    path: str                 # where it sits in the document ("charges[2]"), recorded on every line
    rule: str
    description: str
    unit: str = "HCF"         # the unit its rate is stated in (volume charges)
    per: str = "month"        # month | day | bill (fixed charges)
    rate: Decimal | None = None
    rates: dict = field(default_factory=dict)          # by meter size / fire line size
    tiers: tuple = ()
    scale_by_dwelling_units: bool = False
    days_basis: str | None = None                      # tier widths: "annual" or "monthly" thresholds
    days_in_year: int = 365
    width_rounding: Rounding | None = None
    percent: Decimal | None = None                     # surcharges as % of volume charges
    applies_to: tuple = VOLUME_BASED
    active_from: date | None = None                    # shortage stages switched on/off by date
    active_to: date | None = None
    budget: dict = field(default_factory=dict)
    basis: str = "metered"                             # sewer: flat | metered | winter_average
    amount: Decimal | None = None                      # minimum charge


@dataclass(frozen=True)
class Tariff:
    tariff_id: str
    version: int
    effective_from: date
    effective_to: date | None
    adopted_by: str
    name: str
    customer_classes: tuple
    meter_sizes: tuple
    billing_unit: str
    consumption_rounding: Rounding | None
    amount_rounding: str
    proration_basis: str
    charges: tuple
    penalties: dict
    document: dict

    @property
    def label(self) -> str:
        return f"{self.tariff_id}@{self.version}"


class _Checker:
    """Collects problems with their paths so one load reports all of them."""

    def __init__(self, as_stored: bool = False, meter_sizes: tuple | None = None,
                 fire_line_sizes: tuple | None = None):
        self.problems: list[str] = []
        # a stored document was checked by the rules of its day: it is billed as adopted
        self.as_stored = as_stored
        self.known_sizes = {"meter size": meter_sizes, "fire line size": fire_line_sizes}

    def known_size(self, size, what: str, path: str) -> None:
        known = self.known_sizes.get(what)
        if known is not None and str(size) not in known:
            self.fail(path, f"{str(size)!r} is not a {what} the District installs ({', '.join(known)})")

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def required(self, mapping: dict, key: str, path: str):
        if key not in mapping or mapping[key] is None:
            self.fail(f"{path}{key}", "required")
            return None
        return mapping[key]

    def decimal(self, value, path: str, allow_none: bool = False, minimum: Decimal | None = Decimal(0)):
        if value is None:
            if not allow_none:
                self.fail(path, "required")
            return None
        if isinstance(value, (float, bool)):
            self.fail(path, f"{value!r} must be a decimal string (\"3.65\"), not a float")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, f"{value!r} is not a number")
            return None
        if not number.is_finite():
            self.fail(path, f"{value!r} is not a number")
            return None
        if abs(number) >= NUMBER_LIMIT:
            self.fail(path, f"{number} must be below {NUMBER_LIMIT}")
            return None
        if number.as_tuple().exponent < -MAX_DECIMALS:
            self.fail(path, f"{number} must have at most {MAX_DECIMALS} decimals")
            return None
        if minimum is not None and number < minimum:
            self.fail(path, f"{number} must not be below {minimum}")
        return number

    def date(self, value, path: str, allow_none: bool = False):
        if value is None:
            if not allow_none:
                self.fail(path, "required")
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(path, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def mapping(self, value, path: str, allowed: tuple, what: str = "") -> dict:
        """`value` as a mapping whose every key is one of `allowed` (each unknown key is a problem)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be a mapping")
            return {}
        for key in value:
            if key not in allowed and not self.as_stored:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6) or [
                    name for name in allowed if name.startswith(str(key)) or str(key).startswith(name)]
                hint = f"did you mean {close[0]}?" if close else f"{what or 'it'} takes {', '.join(allowed)}"
                self.fail(f"{path}.{key}" if path else str(key), f"unknown field ({hint})")
        return value

    def text(self, value, path: str):
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string")
            return None
        if len(value) > TEXT_LIMIT:
            self.fail(path, f"must be at most {TEXT_LIMIT} characters")
            return None
        return value

    def one_of(self, value, choices, path: str):
        if value not in choices:
            self.fail(path, f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value

    def rounding(self, value, path: str):
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, "must be {increment, mode}")
            return None
        self.mapping(value, path, ROUNDING_RULE_FIELDS)
        increment = self.decimal(value.get("increment", "1"), f"{path}.increment", minimum=None)
        if increment is not None and increment <= 0:
            self.fail(f"{path}.increment", "must be positive")
        mode = self.one_of(value.get("mode", "half_up"), tuple(ROUNDING_MODES), f"{path}.mode")
        return Rounding(increment, mode) if increment and increment > 0 else None


def parse_tariff(document: dict, customer_classes: tuple | None = None, meter_sizes: tuple | None = None,
                 fire_line_sizes: tuple | None = None) -> Tariff:
    """Validate a whole document. The District's lists, when given, are checked too: its customer
    classes (accounts owns the list), meter sizes (metering's) and fire line sizes (accounts')."""
    return _parse(document, _Checker(meter_sizes=meter_sizes, fire_line_sizes=fire_line_sizes), customer_classes)


def parse_stored_tariff(document: dict) -> Tariff:
    """A document billing stored: loaded as adopted, though a rule added since (unknown fields,
    placeholders, the class list) would refuse it; bill lines it cannot describe are run exceptions."""
    return _parse(document, _Checker(as_stored=True), None)


def _parse(document: dict, check: _Checker, customer_classes: tuple | None) -> Tariff:
    if not isinstance(document, dict):
        raise TariffInvalid(["(document): must be a mapping of fields"])
    if not check.as_stored and not _plain_data(check, document):
        raise TariffInvalid(check.problems)
    check.mapping(document, "", DOCUMENT_FIELDS, "the document")
    tariff_id = check.required(document, "tariff_id", "")
    if tariff_id is not None and not check.as_stored:
        check.text(tariff_id, "tariff_id")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        check.fail("version", f"{version!r} must be a whole number from 1 to {MAX_VERSION}")
    effective_from = check.date(document.get("effective_from"), "effective_from")
    effective_to = check.date(document.get("effective_to"), "effective_to", allow_none=True)
    if effective_from and effective_to and effective_to < effective_from:
        check.fail("effective_to", "is before effective_from")
    adopted_by = check.required(document, "adopted_by", "")
    classes = document.get("customer_classes")
    if not classes or not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        check.fail("customer_classes", "must list at least one customer class")
        classes = []
    for i, customer_class in enumerate(classes if customer_classes is not None else ()):
        if customer_class not in customer_classes:
            check.fail(f"customer_classes[{i}]", f"{customer_class!r} is not a customer class of the District "
                                                 f"(accounts defines {', '.join(sorted(customer_classes))})")
    meter_sizes = document.get("meter_sizes") or []
    if not isinstance(meter_sizes, list):
        check.fail("meter_sizes", "must be a list of meter sizes")
        meter_sizes = []
    for i, size in enumerate(meter_sizes):
        check.known_size(size, "meter size", f"meter_sizes[{i}]")
    billing_unit = check.one_of(document.get("billing_unit", "HCF"), UNITS, "billing_unit")
    rounding = check.mapping(document.get("rounding"), "rounding", ROUNDING_FIELDS)
    amount_rounding = check.one_of(rounding.get("amounts", "half_up"), tuple(ROUNDING_MODES), "rounding.amounts")
    consumption_rounding = check.rounding(rounding.get("consumption"), "rounding.consumption")
    proration = check.one_of(document.get("proration_basis", "actual_days"), PRORATION_BASES, "proration_basis")
    raw_charges = document.get("charges")
    if not isinstance(raw_charges, list) or not raw_charges:
        check.fail("charges", "must list at least one charge")
        raw_charges = []
    charges = tuple(c for c in (_parse_charge(check, raw, f"charges[{i}]", meter_sizes)
                                for i, raw in enumerate(raw_charges)) if c is not None)
    penalties = _parse_penalties(check, document.get("penalties"))
    if check.problems:
        raise TariffInvalid(check.problems)
    return Tariff(str(tariff_id), version, effective_from, effective_to, str(adopted_by),
                  str(document.get("name", tariff_id)), tuple(classes), tuple(meter_sizes), billing_unit,
                  consumption_rounding, amount_rounding, proration, charges, penalties, document)


def _parse_charge(check: _Checker, raw, path: str, meter_sizes: list) -> Charge | None:
    if not isinstance(raw, dict):
        check.fail(path, "must be a mapping")
        return None
    rule = raw.get("rule")
    parser = _CHARGE_PARSERS.get(rule) if isinstance(rule, str) else None
    if parser is None:
        check.fail(f"{path}.rule", f"{rule!r} is not one of {', '.join(sorted(_CHARGE_PARSERS))}")
        return None
    check.mapping(raw, path, CHARGE_FIELDS + CHARGE_KIND_FIELDS[rule], rule)
    description = raw.get("description")
    if description is None:
        description = rule.replace("_", " ")
    elif not check.as_stored and check.text(description, f"{path}.description") is not None:
        _check_placeholders(check, description, rule, f"{path}.description")
    common = {"path": path, "rule": rule, "description": str(description)}
    active_from = check.date(raw.get("active_from"), f"{path}.active_from", allow_none=True)
    active_to = check.date(raw.get("active_to"), f"{path}.active_to", allow_none=True)
    if active_from and active_to and active_to < active_from:
        check.fail(f"{path}.active_to", "is before active_from")
    common.update(active_from=active_from, active_to=active_to)
    return parser(check, raw, path, meter_sizes, common)


def _check_placeholders(check: _Checker, description: str, rule: str, path: str) -> None:
    """Only the placeholders the charge fills in, so a bill line can never fail to be described."""
    offered = PLACEHOLDERS.get(rule, ())
    offers = f"{rule} offers " + (", ".join(f"{{{name}}}" for name in offered) if offered else "no placeholders")
    try:
        parsed = list(string.Formatter().parse(description))
    except ValueError:
        check.fail(path, "unbalanced braces: write { as {{ and } as }}")
        return
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in offered or (spec and "{" in spec):
            check.fail(path, f"unknown placeholder {{{name}}}: {offers}")
            return
    if not offered and any(brace in description for brace in "{}"):
        check.fail(path, f"{rule} prints its description as written: leave out braces")
        return
    try:
        description.format(**{name: "x" for name in offered})
    except (ValueError, KeyError, IndexError, AttributeError) as error:
        check.fail(path, f"cannot be filled in ({error}): {offers}")


def _plain_data(check: _Checker, document: dict) -> bool:
    """Strings without NUL and of a sane length, nesting of a sane depth, everywhere in the document
    (the database's JSON cannot hold a NUL; a 50,000-deep document is an attack, not a tariff)."""
    stack = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > NESTING_LIMIT:
            check.fail(path or "(document)", f"nested deeper than {NESTING_LIMIT} levels")
            return False
        if isinstance(value, dict):
            items = [(f"{path}.{key}" if path else str(key), key, item) for key, item in value.items()]
        elif isinstance(value, list):
            items = [(f"{path}[{i}]", None, item) for i, item in enumerate(value)]
        else:
            items = []
        for where, key, item in items:
            for text in (key, item):
                if isinstance(text, str) and ("\x00" in text or len(text) > 10 * TEXT_LIMIT):
                    check.fail(where, f"strings must have no NUL character and at most {10 * TEXT_LIMIT} "
                                      "characters")
            stack.append((item, where, depth + 1))
    return not check.problems


def _per(check, raw, path):
    return check.one_of(raw.get("per", "month"), CHARGE_PERIODS, f"{path}.per")


def _rates_by_size(check, raw, path, sizes, what="meter size"):
    rates = raw.get("rates")
    if not isinstance(rates, dict) or not rates:
        check.fail(f"{path}.rates", f"must map each {what} to a rate")
        return {}
    parsed = {str(size): check.decimal(rate, f"{path}.rates.{size}") for size, rate in rates.items()}
    for size in rates:
        check.known_size(size, what, f"{path}.rates.{size}")
    for size in sizes:
        if str(size) not in parsed:
            check.fail(f"{path}.rates", f'no charge for meter size {size}" (the tariff serves it)')
    return parsed


def _fixed_by_meter_size(check, raw, path, sizes, common):
    return Charge(**common, per=_per(check, raw, path), rates=_rates_by_size(check, raw, path, sizes))


def _fixed_by_meter_ratio(check, raw, path, sizes, common):
    base = check.decimal(raw.get("base"), f"{path}.base")
    ratios = raw.get("ratios")
    if isinstance(ratios, str):
        if ratios not in RATIO_TABLES:
            check.fail(f"{path}.ratios", f"{ratios!r} is not a known table ({', '.join(RATIO_TABLES)}) "
                                         "or a mapping of meter size to ratio")
            ratios = {}
        else:
            ratios = RATIO_TABLES[ratios]
    rates = _rates_by_size(check, {"rates": ratios}, path, sizes)
    # The adopted charge per size is base x ratio; each is rounded when billed, like any line.
    priced = {size: base * ratio for size, ratio in rates.items() if ratio is not None and base is not None}
    return Charge(**common, per=_per(check, raw, path), rate=base, rates=priced)


def _fixed_surcharge(check, raw, path, sizes, common):
    return Charge(**common, per=_per(check, raw, path), rate=check.decimal(raw.get("rate"), f"{path}.rate"))


def _private_fire_service(check, raw, path, sizes, common):
    return Charge(**common, per=_per(check, raw, path), rates=_rates_by_size(check, raw, path, [], "fire line size"))


def _volumetric(check, raw, path, sizes, common):
    unit = check.one_of(raw.get("unit", "HCF"), UNITS, f"{path}.unit")
    return Charge(**common, unit=unit, rate=check.decimal(raw.get("rate"), f"{path}.rate"))


def _tiers(check, raw, path, key="upto"):
    tiers = raw.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        check.fail(f"{path}.tiers", "must list at least one tier")
        return ()
    parsed, previous = [], Decimal(0)
    for i, tier in enumerate(tiers):
        where = f"{path}.tiers[{i}]"
        if not isinstance(tier, dict):
            check.fail(where, "must be a mapping {upto, rate}")
            continue
        check.mapping(tier, where, (key, "rate", "from"), "a tier")
        rate = check.decimal(tier.get("rate"), f"{where}.rate")
        upto = check.decimal(tier.get(key), f"{where}.{key}", allow_none=True)
        start = tier.get("from")
        if start is not None:
            start = check.decimal(start, f"{where}.from")
            if start is not None and start > previous:
                check.fail(f"{where}.from", f"leaves a gap after tier {i - 1} (which ends at {previous})"
                           if i else "leaves a gap: the first tier must start at 0")
            elif start is not None and start < previous:
                check.fail(f"{where}.from", f"overlaps tier {i - 1} (which ends at {previous})")
        if upto is None and tier.get(key) is None and i < len(tiers) - 1:  # (a bad bound is named above)
            check.fail(f"{where}.{key}", "only the last tier may be open-ended")
        if upto is not None and upto <= previous:
            check.fail(f"{where}.{key}", f"overlaps tier {i - 1}" if i else "must be above 0")
        if upto is not None and i == len(tiers) - 1:
            check.fail(f"{where}.{key}", "the last tier must be open-ended (leave upto out), "
                                         "or usage above it would have no rate")
        parsed.append(Tier(upto, rate))
        previous = upto if upto is not None and upto > previous else previous
    return tuple(parsed)


def _tiered(check, raw, path, sizes, common):
    scaling = check.mapping(raw.get("tier_width"), f"{path}.tier_width", TIER_WIDTH_FIELDS)
    days_basis = scaling.get("per_days")
    if days_basis is not None:
        check.one_of(days_basis, ("annual", "monthly"), f"{path}.tier_width.per_days")
    return Charge(**common, unit=check.one_of(raw.get("unit", "HCF"), UNITS, f"{path}.unit"),
                  tiers=_tiers(check, raw, path),
                  scale_by_dwelling_units=bool(scaling.get("per_dwelling_unit", False)),
                  days_basis=days_basis, days_in_year=_days_in_year(check, scaling.get("days_in_year", 365),
                                                                    f"{path}.tier_width.days_in_year"),
                  width_rounding=check.rounding(scaling.get("rounding"), f"{path}.tier_width.rounding"))


def _days_in_year(check, value, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 360 <= value <= 366:
        check.fail(path, f"{value!r} must be a whole number of days from 360 to 366")
        return 365
    return value


def _budget_tiered(check, raw, path, sizes, common):
    budget = check.mapping(raw.get("budget"), f"{path}.budget", BUDGET_FIELDS)
    parsed = {
        "gallons_per_person_per_day": check.decimal(budget.get("gallons_per_person_per_day", "0"),
                                                    f"{path}.budget.gallons_per_person_per_day"),
        "plant_factor": check.decimal(budget.get("plant_factor", "0"), f"{path}.budget.plant_factor"),
        # gallons per square foot per inch of ET (0.62) times any irrigation-efficiency factor
        "conversion": check.decimal(budget.get("conversion", "0.62"), f"{path}.budget.conversion"),
        "reference_et_inches": check.decimal(budget.get("reference_et_inches"),
                                             f"{path}.budget.reference_et_inches", allow_none=True),
    }
    return Charge(**common, unit=check.one_of(raw.get("unit", "HCF"), UNITS, f"{path}.unit"),
                  tiers=_tiers(check, raw, path, key="upto_percent"), budget=parsed,
                  width_rounding=check.rounding(raw.get("tier_rounding"), f"{path}.tier_rounding"))


def _shortage_surcharge(check, raw, path, sizes, common):
    if ("rate" in raw) == ("percent" in raw):
        check.fail(path, "give exactly one of rate (per unit) or percent (of volume charges)")
    rate = check.decimal(raw["rate"], f"{path}.rate") if "rate" in raw else None
    percent = check.decimal(raw["percent"], f"{path}.percent") if "percent" in raw else None
    applies_to = tuple(raw.get("applies_to", VOLUME_BASED))
    for i, rule in enumerate(applies_to):
        check.one_of(rule, tuple(_CHARGE_PARSERS), f"{path}.applies_to[{i}]")
    return Charge(**common, unit=check.one_of(raw.get("unit", "HCF"), UNITS, f"{path}.unit"), rate=rate,
                  percent=percent, applies_to=applies_to)


def _sewer(check, raw, path, sizes, common):
    basis = check.one_of(raw.get("basis", "flat"), ("flat", "metered", "winter_average"), f"{path}.basis")
    return Charge(**common, basis=basis, per=_per(check, raw, path),
                  unit=check.one_of(raw.get("unit", "HCF"), UNITS, f"{path}.unit"),
                  rate=check.decimal(raw.get("rate"), f"{path}.rate"))


def _minimum_charge(check, raw, path, sizes, common):
    return Charge(**common, amount=check.decimal(raw.get("amount"), f"{path}.amount"),
                  applies_to=tuple(raw.get("applies_to", ())))


def _parse_penalties(check, raw) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.fail("penalties", "must be a mapping")
        return {}
    check.mapping(raw, "penalties", PENALTY_FIELDS)
    return {
        "percent_of_current": check.decimal(raw.get("percent_of_current", "0"), "penalties.percent_of_current"),
        "monthly_percent_of_past_due": check.decimal(raw.get("monthly_percent_of_past_due", "0"),
                                                     "penalties.monthly_percent_of_past_due"),
        "grace_days": _grace_days(check, raw.get("grace_days", 0)),
    }


def _grace_days(check, value) -> int:
    """Days after the due date a payment still counts as on time (no late penalty)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 60:
        check.fail("penalties.grace_days", f"{value!r} must be a whole number of days from 0 to 60")
        return 0
    return value


_CHARGE_PARSERS = {
    "fixed_by_meter_size": _fixed_by_meter_size,
    "fixed_by_meter_ratio": _fixed_by_meter_ratio,
    "fixed_surcharge": _fixed_surcharge,
    "private_fire_service": _private_fire_service,
    "volumetric": _volumetric,
    "wholesale": _volumetric,
    "tiered": _tiered,
    "budget_tiered": _budget_tiered,
    "shortage_surcharge": _shortage_surcharge,
    "sewer": _sewer,
    "minimum_charge": _minimum_charge,
}
RULES = tuple(_CHARGE_PARSERS)


def check_fits_history(new: Tariff, stored: list[Tariff]) -> None:
    """A new version must follow its tariff's versions, and no two tariffs may cover one class at once."""
    problems = []
    same = [t for t in stored if t.tariff_id == new.tariff_id]
    if any(t.version >= new.version for t in same):
        latest = max(t.version for t in same)
        problems.append(f"version: {new.tariff_id}@{new.version} is not after the stored {new.tariff_id}@{latest}")
    for other_id in sorted({t.tariff_id for t in stored} - {new.tariff_id}):
        window = _coverage(stored, other_id)
        for customer_class in new.customer_classes:
            for start, end in window.get(customer_class, ()):
                if start <= (new.effective_to or date.max) and new.effective_from <= (end or date.max):
                    problems.append(f"effective_from: {new.tariff_id} would cover class {customer_class} from "
                                    f"{new.effective_from}, overlapping {other_id} in effect from {start}"
                                    + (f" to {end}" if end else ""))
    if problems:
        raise TariffInvalid(problems)


def _coverage(stored: list[Tariff], tariff_id: str) -> dict[str, list[tuple]]:
    """When each class is covered by `tariff_id`: its latest version decides how far it runs."""
    versions = sorted((t for t in stored if t.tariff_id == tariff_id), key=lambda t: t.version)
    latest = versions[-1]
    start = min(t.effective_from for t in versions)
    return {c: [(start, latest.effective_to)] for c in latest.customer_classes}
