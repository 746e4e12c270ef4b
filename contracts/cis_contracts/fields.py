"""Field types shared by every contract: money as a decimal string, dates, zoned timestamps."""
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields


class Money(fields.Field):
    """A Decimal amount serialised as a string with two decimal places ("12.30").

    Floats are refused: a JSON number has already lost the exact cents.
    """

    default_error_messages = {
        "invalid": "Not a valid amount: give a decimal string such as \"12.30\".",
        "float": "Amounts must be strings, not JSON numbers.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return str(Decimal(value).quantize(Decimal("0.01")))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise self.make_error("float")
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise self.make_error("invalid")
        if not amount.is_finite():
            raise self.make_error("invalid")
        return amount


class Quantity(Money):
    """A Decimal quantity (HCF, gallons) serialised as a string; any scale."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(value))


class ZonedDateTime(fields.AwareDateTime):
    """ISO 8601 timestamp that must carry its zone."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)


def require_positive(value):
    if value <= 0:
        raise ValidationError("Must be greater than zero.")
