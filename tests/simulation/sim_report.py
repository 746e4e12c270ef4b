"""Run a district year and print what happened: accounts, bills, money, notices, shutoffs,
exceptions, events, and the invariant table."""
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from sim_district import START, District
from sim_harness import Harness
from sim_invariants import Checker
from sim_year import Simulation


def run_district(accounts: int, days: int, seed: int, work_dir: Path | None = None, log=print) -> Simulation:
    """Seed, run `days` days, check; returns the simulation (its checker holds the violations)."""
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="cis-sim-"))
    harness = Harness(work_dir)
    harness.start()
    sim = None
    try:
        district = District(seed, accounts)
        sim = Simulation(harness, district, days, Checker, log=log)
        sim.seed()
        sim.run()
        sim.report_text = report(sim)
        return sim
    except Exception as error:  # the run stopped: say on which day, with the report so far
        if sim is not None:
            try:
                error.add_note(f"the simulation stopped on {sim.today}\n" + report(sim))
            except Exception as failure:
                error.add_note(f"the simulation stopped on {sim.today}; no report: {failure!r}")
        raise
    finally:
        if sim is not None and not hasattr(sim, "report_text"):
            try:
                sim.report_text = report(sim)
            except Exception as error:  # the report must not hide the failure that stopped the run
                sim.report_text = f"(no report: {error!r})"
        if os.environ.get("CIS_TEST_KEEP"):
            log(f"kept: databases {os.environ.get('CIS_DB_PREFIX')}*, logs and mail drop under {work_dir}")
        harness.stop()


def report(sim: Simulation) -> str:
    h = sim.h
    q = h.query
    out = []
    line = out.append
    line(f"District simulation: seed {sim.d.seed}, {START} + {sim.days} days (last day {sim.today})")
    classes = Counter(a.customer_class for a in sim.by_id.values())
    closed = sum(1 for a in sim.by_id.values() if a.closed_on)
    line(f"accounts: {len(sim.by_id)} ({', '.join(f'{c} {n}' for c, n in sorted(classes.items()))}); "
         f"{closed} closed; {sum(a.tenant_occupied for a in sim.by_id.values())} tenant-occupied; "
         f"{sum(a.customer.email is None for a in sim.by_id.values())} without email; "
         f"{sum(a.customer.paperless for a in sim.by_id.values())} paperless")
    line(f"meters: {len(sim.d.meters)}; faults: "
         + ", ".join(f"{f} {n}" for f, n in sorted(Counter(m.fault for m in sim.d.meters.values() if m.fault).items())))
    [(bills, billed)] = q("billing", "select count(*), coalesce(sum(total), 0) from bills")
    [(payments, collected)] = q("billing", "select count(*), coalesce(sum(amount), 0) from payments")
    adjustments = q("billing", "select kind, count(*), coalesce(sum(amount), 0) from adjustments group by 1 order by 1")
    [(owed,)] = q("billing", "select coalesce(sum(amount), 0) from ledger_entries")
    runs = q("billing", "select r.status, count(*) from bill_runs r group by 1")
    exceptions = q("billing", "select coalesce(reason, outcome), count(*) from bill_run_accounts "
                              "where outcome is not null group by 1 order by 2 desc limit 8")
    line(f"bills: {bills}, billed ${billed}; bill runs {dict(runs)}")
    line(f"payments: {payments}, collected ${collected}; adjustments: "
         + ", ".join(f"{k} {n} (${s})" for k, n, s in adjustments) + f"; owed at the end ${owed}")
    line("bill-run exceptions: " + ("; ".join(f"{n} x {r[:90]}" for r, n in exceptions) or "none"))
    notices = q("collections", "select kind, count(*) from notices group by 1 order by 1")
    deliveries = q("notifications", "select kind, channel, status, count(*) from deliveries group by 1, 2, 3 order by 1, 2")
    orders = q("collections", "select kind, status, count(*) from work_orders group by 1, 2 order by 1")
    line("collections notices: " + (", ".join(f"{k} {n}" for k, n in notices) or "none"))
    line("deliveries: " + (", ".join(f"{k}/{c}/{s} {n}" for k, c, s, n in deliveries) or "none")
         + f"; SMTP messages {h.mailbox.count}")
    line("work orders: " + (", ".join(f"{k}/{s} {n}" for k, s, n in orders) or "none")
         + f"; shutoff orders seen by operations {len(sim.shutoff_orders)}; completions reported "
         + ", ".join(f"{k} {n}" for k, n in sorted(sim.work_orders_done.items())))
    read_exceptions = q("metering", "select rule, status, count(*) from read_exceptions group by 1, 2 order by 3 desc")
    line("read exceptions: " + (", ".join(f"{r}/{s} {n}" for r, s, n in read_exceptions) or "none"))
    [(estimates,)] = q("metering", "select count(*) from billing_estimates")
    line(f"billing estimates: {estimates}; pending true-ups at the end: {getattr(sim.checker, 'pending_true_ups', '?')}")
    line("read exceptions resolved by staff: " + (", ".join(f"{k} {n}" for k, n in sorted(sim.resolutions.items())) or "none"))
    line(f"dead letters: {h.dead_letters() or 'none'}; refused staff/customer requests: {len(sim.api_errors)}")
    line(f"events published again after a crash killed their relay (applied once): "
         f"{getattr(sim.checker, 'republished_after_crash', '?')}")
    for error in sim.api_errors[:5]:
        line(f"    {error[:200]}")
    line(f"events observed: {sum(sim.events.values())} "
         f"({', '.join(f'{k} {n}' for k, n in sorted(sim.events.items()))})")
    line(f"gateway calls: {h.api.calls}; AMI batches {len(sim.batches_sent)}, reads {sim.reads_sent}")
    for note in sim.notes[:12]:
        line(f"note: {note[:200]}")
    line("phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in sim.phases.seconds.items()))
    line(f"gateway calls repeated because the shared database refused a connection: {h.infrastructure_retries}")
    stats = h.drain_stats
    line(f"drain: {stats['drains']} drains, {stats['looks']} looks ({stats['look_seconds']:.1f}s looking), "
         f"{stats['busy_seconds']:.1f}s until quiet, {stats['settle_seconds']:.1f}s confirming quiet")
    bill_days = [s for d, s in sim.day_drains.items() if d.day == 2]
    other_days = [s for d, s in sim.day_drains.items() if d.day != 2]
    if bill_days and other_days:
        line(f"day's drain: bill-run days {sum(bill_days):.1f}s ({len(bill_days)}), other days {sum(other_days):.1f}s "
             f"({len(other_days)}, mean {sum(other_days) / len(other_days):.2f}s); slowest: " + ", ".join(
                 f"{d} {s:.1f}s" for d, s in sorted(sim.day_drains.items(), key=lambda item: -item[1])[:5]))
    line("")
    line(f"{'invariant':44} {'checks':>8} {'violations':>10}  first violation")
    for name, words, checks, violations, first in sim.checker.table():
        line(f"{name:44} {checks:>8} {violations:>10}  {str(first)[len(name) + 4:][:160] if first else ''}")
    if sim.checker.violations:
        line("")
        line("violations (the first 30, in day order):")
        for violation in sim.checker.violations[:30]:
            line(f"  {violation.invariant} {violation.day} {violation.account}: {violation.what[:300]}")
    return "\n".join(out)


def first_violation(sim: Simulation):
    """The earliest violation (the checks append in day order)."""
    return sim.checker.violations[0] if sim.checker.violations else None


if __name__ == "__main__":
    import sys

    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    started = time.monotonic()
    simulation = run_district(accounts, days, seed)
    print(simulation.report_text)
    print(f"wall time {time.monotonic() - started:.0f}s")
