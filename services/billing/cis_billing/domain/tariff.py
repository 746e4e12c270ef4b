"""Tariffs are data: an adopted, versioned document of charges; this module applies one.

A document looks like
    {"name": ..., "customer_classes": ["residential"],
     "charges": [{"rule": "fixed_by_meter_size", "description": "... {meter_size}\\" meter",
                  "unit": "month", "rates": {"5/8": "20.75", ...}},
                 {"rule": "volumetric", "description": "Water usage", "unit": "HCF", "rate": "3.65"}]}
Rates are decimal strings. Each line is rounded half-up to the cent on its own, so a
customer can check every line with a calculator; the bill total is the sum of the lines.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


class CannotBill(Exception):
    """The account cannot be billed as things stand (the reason goes to the run's exceptions)."""


@dataclass(frozen=True)
class BillLine:
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    rule: str


@dataclass(frozen=True)
class TariffVersion:
    tariff_id: str
    version: int
    effective_from: date
    document: dict

    @property
    def label(self) -> str:
        return f"{self.tariff_id}@{self.version}"


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def calculate_bill(tariff_document: dict, meter_size: str, consumption_hcf: Decimal) -> list[BillLine]:
    """The lines of one period's bill for a meter of `meter_size` that measured `consumption_hcf`."""
    consumption = _decimal(consumption_hcf, "consumption")
    if consumption < 0:
        raise CannotBill(f"negative consumption {consumption} HCF")
    lines = []
    for charge in tariff_document["charges"]:
        rule = _RULES.get(charge["rule"])
        if rule is None:
            raise CannotBill(f"tariff rule {charge['rule']!r} is not supported")
        lines.append(rule(charge, meter_size, consumption))
    return lines


def bill_total(lines: list[BillLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))


def _fixed_by_meter_size(charge: dict, meter_size: str, consumption: Decimal) -> BillLine:
    rates = charge["rates"]
    if meter_size not in rates:
        raise CannotBill(f'tariff has no service charge for a {meter_size}" meter')
    rate = _decimal(rates[meter_size], "rate")
    return BillLine(charge["description"].format(meter_size=meter_size), Decimal("1"), charge.get("unit", "month"),
                    rate, to_cents(rate), charge["rule"])


def _volumetric(charge: dict, meter_size: str, consumption: Decimal) -> BillLine:
    rate = _decimal(charge["rate"], "rate")
    return BillLine(charge["description"], consumption, charge.get("unit", "HCF"), rate,
                    to_cents(consumption * rate), charge["rule"])


_RULES = {"fixed_by_meter_size": _fixed_by_meter_size, "volumetric": _volumetric}


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise CannotBill(f"{what} must be a decimal string, not a float")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise CannotBill(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise CannotBill(f"{what} {value!r} is not a number")
    return number


def tariff_in_effect(tariffs: list[TariffVersion], customer_class: str, on: date) -> TariffVersion:
    """The tariff for `customer_class` in effect on `on`: latest effective date, then latest version."""
    candidates = [t for t in tariffs if t.effective_from <= on
                  and customer_class in t.document.get("customer_classes", ())]
    if not candidates:
        raise CannotBill(f"no tariff in effect on {on.isoformat()} for customer class {customer_class}")
    return max(candidates, key=lambda t: (t.effective_from, t.version))
