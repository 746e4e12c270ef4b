"""The district simulation at size: prints the time of each phase (seeding, reads, bill runs, daily
runs, checks, ...) and the report. Target: 100,000 accounts. Runs in a vhost and databases of its
own, dropped at the end (CIS_TEST_KEEP=1 keeps the databases).

    .venv/bin/python tests/simulation/benchmark.py 100000 [--days 396] [--seed 20260701]

On a shared developer machine use small sizes; the 100,000-account year is for a quiet machine.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_report import run_district  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("accounts", type=int, nargs="?", default=100_000)
    parser.add_argument("--days", type=int, default=396)
    parser.add_argument("--seed", type=int, default=20260701)
    args = parser.parse_args()
    started = time.monotonic()
    simulation = run_district(args.accounts, args.days, args.seed)
    total = time.monotonic() - started
    print(simulation.report_text)
    print()
    print(f"{args.accounts} accounts, {args.days} days: {total:.0f}s wall time "
          f"({total / max(1, args.days):.2f}s per simulated day)")
    for phase, seconds in sorted(simulation.phases.seconds.items(), key=lambda item: -item[1]):
        print(f"  {phase:12} {seconds:8.1f}s")
    print("  (the rest: starting and stopping the suite, the report)")
    sys.exit(1 if simulation.checker.violations else 0)


if __name__ == "__main__":
    main()
