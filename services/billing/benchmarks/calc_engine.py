"""Bills per second of the pure calculation on one core (issue 3 target: >= 50,000/s).

A 3-tier residential tariff with a fixed charge by meter size and a fixed surcharge, compiled
once for the period (BillPlan, as the bill run does), then priced for 200,000 accounts with
mixed meter sizes, dwelling units and usages. Prints bills/s, and the same through
`calculate` (compiling the tariff for every bill) for comparison.

    .venv/bin/python services/billing/benchmarks/calc_engine.py [--bills N]
"""
import argparse
import random
import time
from datetime import date
from decimal import Decimal

from cis_billing.domain.engine import Account, BillPlan, Determinants, Period, bill_total, calculate
from cis_billing.domain.tariff_document import parse_tariff

SIZES = ["5/8", "3/4", "1", "1.5", "2"]
TARIFF = parse_tariff({
    "tariff_id": "bench-residential", "version": 1, "effective_from": "2025-07-01", "adopted_by": "benchmark",
    "customer_classes": ["residential"], "meter_sizes": SIZES,
    "charges": [
        {"rule": "fixed_by_meter_size", "description": 'Service charge, {meter_size}" meter',
         "rates": {"5/8": "20.75", "3/4": "31.13", "1": "51.88", "1.5": "103.75", "2": "166.00"}},
        {"rule": "tiered", "description": "Water usage", "tier_width": {"per_dwelling_unit": True},
         "tiers": [{"upto": "6", "rate": "3.10"}, {"upto": "15", "rate": "4.20"}, {"rate": "6.85"}]},
        {"rule": "fixed_surcharge", "description": "Treatment surcharge", "rate": "4.10"},
    ]})
PERIOD = Period(date(2026, 3, 1), date(2026, 3, 31))


def workload(count: int):
    rng = random.Random(3)
    accounts = [Account("residential", rng.choice(SIZES), dwelling_units=rng.choice([1, 1, 1, 2, 4]))
                for _ in range(count)]
    usages = [Determinants(Decimal(rng.randint(0, 4000)) / 100) for _ in range(count)]
    return accounts, usages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bills", type=int, default=200_000)
    count = parser.parse_args().bills
    accounts, usages = workload(count)
    plan = BillPlan([TARIFF], "residential", PERIOD)
    started = time.perf_counter()
    total = Decimal(0)
    for account, usage in zip(accounts, usages):
        total += bill_total(plan.lines(account, usage))
    elapsed = time.perf_counter() - started
    print(f"compiled plan: {count:,} bills in {elapsed:.2f} s = {count / elapsed:,.0f} bills/s (one core); "
          f"billed {total}")
    sample = min(count, 20_000)
    started = time.perf_counter()
    for account, usage in zip(accounts[:sample], usages[:sample]):
        calculate([TARIFF], account, usage, PERIOD)
    elapsed = time.perf_counter() - started
    print(f"calculate() compiling per bill: {sample / elapsed:,.0f} bills/s")
    print("(machine shared with other work: figures are pessimistic)")


if __name__ == "__main__":
    main()
