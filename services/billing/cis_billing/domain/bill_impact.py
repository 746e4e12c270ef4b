"""The Prop 218 bill-impact summary (Cal. Const. art. XIII D sec. 6: a rate increase needs a mailed
notice with the proposed amounts): each account's last billed period priced on the current and the
proposed rates, summarised per customer class and meter size."""
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from itertools import groupby

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PricedAccount:
    account_id: str
    customer_class: str
    meter_size: str
    current: Decimal
    proposed: Decimal

    @property
    def change(self) -> Decimal:
        return self.proposed - self.current


def meter_size_order(size: str) -> Fraction:
    """5/8 before 3/4 before 1 before 1.5 (sizes are inches written as fractions or decimals)."""
    try:
        return Fraction(size)
    except ValueError:
        return Fraction(10 ** 6)  # anything else last


def summarise(priced: list[PricedAccount]) -> list[dict]:
    def group_of(account: PricedAccount):
        return account.customer_class, meter_size_order(account.meter_size), account.meter_size

    groups = []
    for (customer_class, _, meter_size), members in groupby(sorted(priced, key=group_of), key=group_of):
        members = list(members)
        current = sum((m.current for m in members), Decimal("0.00"))
        proposed = sum((m.proposed for m in members), Decimal("0.00"))
        groups.append({
            "customer_class": customer_class, "meter_size": meter_size, "accounts": len(members),
            "current_total": current, "proposed_total": proposed,
            "average_change": ((proposed - current) / len(members)).quantize(CENT),
            "max_change": max(m.change for m in members),
            "total_percent_change": ((proposed - current) * 100 / current).quantize(CENT) if current else None,
        })
    return groups
