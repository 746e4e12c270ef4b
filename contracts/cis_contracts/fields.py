"""Field types shared by every contract, and the door rules every contract field obeys.

Money is a decimal string with at most two decimals ("12.30"), |amount| below MONEY_LIMIT;
quantities are decimal strings within QUANTITY_LIMIT; dates lie in the District's calendar
(EARLIEST_DATE .. LATEST_DATE); every string has a length limit and no NUL byte; integers fit
PostgreSQL's integer. `apply_door_rules` gives every field of a registered contract the limits it
does not state itself, so a value the database cannot hold (a 10^10 amount, a year 9999, a NUL)
is a validation error naming the field, never an error at the database.
"""
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

# NUMERIC(12,2) holds amounts below 10^10; the District's largest plausible amount (a wholesale
# agency's annual bill) is far below 10^9. A contract may state a narrower range (payments > 0).
MONEY_LIMIT = Decimal("1000000000")
MONEY_PATTERN = r"^-?\d{1,9}(\.\d{1,2})?$"
# Reads, consumption, rates, areas: a 9-digit register in gallons is below 10^9; nothing the
# District measures or prices reaches 10^12. More than 28 decimals is beyond Decimal's precision.
QUANTITY_LIMIT = Decimal("1000000000000")
QUANTITY_MAX_DECIMALS = 28
QUANTITY_PATTERN = r"^-?\d+(\.\d+)?$"
# The District's calendar: no account, read, payment or notice of the suite lies outside it. Year
# 9999 or 0001 would overflow a day's arithmetic (the instant after the last day); a payment
# "received" in 1900 or 2099 is a typo.
EARLIEST_DATE = date(1950, 1, 1)
LATEST_DATE = date(2079, 12, 31)
# A string without a stated limit (ids, codes, reasons) is at most this long.
DEFAULT_STRING_LIMIT = 1000
# PostgreSQL's integer.
INTEGER_LIMIT = 2**31 - 1

_MONEY_RE = re.compile(MONEY_PATTERN)


class Money(fields.Field):
    """A Decimal amount serialised as a string with two decimal places ("12.30").

    Only a decimal string with at most two decimals loads: a JSON number has already lost the
    exact cents, and a third decimal would be rounded differently by each reader (the ledger's
    NUMERIC rounds half-up, Python half-even), so it is refused, never rounded.
    """

    default_error_messages = {
        "invalid": "Not a valid amount: give a decimal string with at most two decimals, such as \"12.30\".",
        "float": "Amounts must be strings such as \"12.30\", not JSON numbers.",
        "range": f"Must be below {MONEY_LIMIT} in magnitude.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        # half-up, the money rule (docs/architecture.md); an amount has two places by then anyway
        return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, Decimal):
            value = format(value, "f") if value.is_finite() else "NaN"
        if isinstance(value, (bool, int, float)):
            raise self.make_error("float")
        if not isinstance(value, str) or not _MONEY_RE.match(value):
            raise self.make_error("invalid")
        amount = Decimal(value)
        if abs(amount) >= MONEY_LIMIT:
            raise self.make_error("range")
        return amount


class Quantity(Money):
    """A Decimal quantity (HCF, gallons, a rate) serialised as a string; any scale up to 28 decimals.

    JSON integers load (a whole quantity is exact); floats, NaN, Infinity and magnitudes from
    QUANTITY_LIMIT up ("1e30") are refused.
    """

    default_error_messages = {
        "invalid": "Not a valid quantity: give a decimal string such as \"12.5\".",
        "float": "Quantities must be strings such as \"12.5\", not JSON floats.",
        "range": f"Must be below {QUANTITY_LIMIT} in magnitude, with at most {QUANTITY_MAX_DECIMALS} decimals.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(value))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (bool, float)):
            raise self.make_error("float")
        if not isinstance(value, (str, int, Decimal)):
            raise self.make_error("invalid")
        try:
            quantity = Decimal(value) if isinstance(value, Decimal) else Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise self.make_error("invalid")
        if not quantity.is_finite():
            raise self.make_error("invalid")
        if abs(quantity) >= QUANTITY_LIMIT or quantity.as_tuple().exponent < -QUANTITY_MAX_DECIMALS:
            raise self.make_error("range")
        return quantity


class ZonedDateTime(fields.AwareDateTime):
    """ISO 8601 timestamp that must carry its zone."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)


def require_positive(value):
    if value <= 0:
        raise ValidationError("Must be greater than zero.")


def no_nul(value):
    """PostgreSQL text cannot hold a NUL byte; nothing a person types contains one."""
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("Must not contain a NUL character.")


def in_district_calendar(value):
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(f"Must be between {EARLIEST_DATE} and {LATEST_DATE}.")


def _has_max_length(field) -> bool:
    return any(isinstance(v, validate.Length) and (v.max is not None or v.equal is not None)
               for v in field.validators)


def _has_range(field) -> bool:
    return any(isinstance(v, validate.Range) and v.min is not None and v.max is not None
               for v in field.validators)


_DOOR_RULED = "_cis_door_rules"


def apply_door_rules(field) -> None:
    """Give `field` (and the fields inside it) the limits it does not state: string length, no NUL,
    dates in the District's calendar, integers PostgreSQL can hold. Idempotent."""
    if getattr(field, _DOOR_RULED, False):
        return
    setattr(field, _DOOR_RULED, True)
    if isinstance(field, fields.UUID):
        return  # parsed into a UUID: its text has one length
    if isinstance(field, fields.String):
        if not _has_max_length(field):
            field.validators.append(validate.Length(max=DEFAULT_STRING_LIMIT))
        field.validators.append(no_nul)
    elif isinstance(field, (fields.Date, fields.DateTime)):
        field.validators.append(in_district_calendar)
    elif isinstance(field, fields.Integer) and not _has_range(field):
        field.validators.append(validate.Range(min=-INTEGER_LIMIT, max=INTEGER_LIMIT))
    elif isinstance(field, fields.Nested):
        nested = field.nested
        if isinstance(nested, type) or hasattr(nested, "_declared_fields"):
            apply_schema_door_rules(nested)
    elif isinstance(field, fields.List):
        apply_door_rules(field.inner)
    elif isinstance(field, fields.Dict):
        for inner in (field.key_field, field.value_field):
            if inner is not None:
                apply_door_rules(inner)


def apply_schema_door_rules(schema) -> None:
    for field in schema._declared_fields.values():
        apply_door_rules(field)


def door_rule_gaps(schema, path: str = "") -> list[str]:
    """Fields of `schema` without a limit the door rules require (for the contracts' tests)."""
    schema = schema() if isinstance(schema, type) else schema
    gaps = []
    for name, field in schema.fields.items():
        gaps += _field_gaps(field, f"{path}{name}")
    return gaps


def _field_gaps(field, path: str) -> list[str]:
    if isinstance(field, fields.UUID):
        return []
    if isinstance(field, fields.String) and not (_has_max_length(field) and no_nul in field.validators):
        return [f"{path}: string without a length limit or the NUL check"]
    if isinstance(field, (fields.Date, fields.DateTime)) and in_district_calendar not in field.validators:
        return [f"{path}: date without the District's calendar"]
    if isinstance(field, fields.Integer) and not _has_range(field):
        return [f"{path}: integer without a range"]
    if isinstance(field, fields.Nested):
        return door_rule_gaps(field.schema, f"{path}.")
    if isinstance(field, fields.List):
        return _field_gaps(field.inner, f"{path}[]")
    return []
