"""Units of water volume with exact conversion factors, and the one rounding rule for money.

Every factor is a ratio of exact decimals (1 HCF = 100 ft3 = 748.052 US gal by the
District's definition; 1 acre-foot = 43,560 ft3 = 435.6 HCF), so a conversion is a single
multiply and divide carried at 28 significant digits; only amounts are rounded, per line.
"""
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

# cubic feet per unit
CUBIC_FEET_PER = {
    "HCF": Decimal("100"),
    "CCF": Decimal("100"),
    "cubic_feet": Decimal("1"),
    "gallons": Decimal("100") / Decimal("748.052"),
    "acre_feet": Decimal("43560"),
}
UNITS = tuple(CUBIC_FEET_PER)
GALLONS_PER_HCF = Decimal("748.052")

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN,
                  "up": ROUND_CEILING}


def convert(quantity: Decimal, from_unit: str, to_unit: str) -> Decimal:
    if from_unit == to_unit or {from_unit, to_unit} == {"HCF", "CCF"}:
        return quantity
    if from_unit == "gallons":  # exact: gallons -> HCF is a division by 748.052
        return convert(quantity / GALLONS_PER_HCF, "HCF", to_unit)
    if to_unit == "gallons":
        return convert(quantity, from_unit, "HCF") * GALLONS_PER_HCF
    return quantity * CUBIC_FEET_PER[from_unit] / CUBIC_FEET_PER[to_unit]


def round_to(value: Decimal, increment: Decimal, mode: str) -> Decimal:
    """Round `value` to a multiple of `increment` ("1" = whole units, "0.01" = cents)."""
    return (value / increment).quantize(Decimal(1), rounding=ROUNDING_MODES[mode]) * increment


def to_cents(amount: Decimal, mode: str = "half_up") -> Decimal:
    """The suite's rounding rule: each line's amount, half-up to the cent (a tariff may say otherwise)."""
    return amount.quantize(CENT, rounding=ROUNDING_MODES[mode])
