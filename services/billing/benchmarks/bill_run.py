"""A whole bill run for a synthetic district (issue 3 target: 100,000 accounts in <= 30 s).

What it does, in benchmark databases and a RabbitMQ vhost of its own (all dropped at the end):
1. seeds billing's accounts and metering's accounts, meters, installations and start/end register
   reads directly with COPY (0.5% of meters have no end read: they must be exceptions, not zero bills),
   and loads a 3-tier residential tariff with a fixed charge and a surcharge through billing's loader;
2. starts the real metering and billing services as processes (`cis_runtime.edge.launch`);
3. times the run: start_bill_run RPC -> billing fetches determinants with metering's real
   billing_determinants RPC (v3, estimation off), calculates with the engine, stores bills and lines, posts the ledger and writes
   bill_issued events to the outbox -> status completed;
4. times ONE SQL statement computing the same totals from metering's data, and prints the ratio;
5. starts the same run again and checks no bill and no event was added;
6. waits (up to --relay-wait seconds) until the outbox relay, held while the run works, has published
   every event to RabbitMQ with publisher confirms, and prints when that was.

    .venv/bin/python services/billing/benchmarks/bill_run.py [--accounts 100000] [--relay-wait 180]
"""
import argparse
import io
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

RUN_ID = uuid.uuid4().hex[:6]
VHOST = f"cis_bench_{RUN_ID}"
os.environ.update({"CIS_DB_PREFIX": f"bench{RUN_ID}_",
                   "CIS_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{VHOST}",
                   "CIS_BILL_RUN_POLL_SECONDS": "0.2", "CIS_RPC_TIMEOUT": "120", "CIS_LOG_LEVEL": "WARNING",
                   # accounts without an end read stay exceptions, so one SQL statement can check the totals
                   "CIS_BILL_RUN_ESTIMATE_MISSING_READS": "false"})

import sqlalchemy as sa  # noqa: E402
from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from cis_billing.service_layer.tariffs import load_tariff  # noqa: E402
from cis_runtime import config, db  # noqa: E402
from cis_runtime.uow import UnitOfWork  # noqa: E402

PERIOD = ("2026-03-01", "2026-03-31")
PACIFIC_STANDARD = timezone(timedelta(hours=-8))
PACIFIC_DAYLIGHT = timezone(timedelta(hours=-7))
START_READ_AT = datetime(2026, 3, 1, 0, 0, tzinfo=PACIFIC_STANDARD)
END_READ_AT = datetime(2026, 3, 31, 23, 0, tzinfo=PACIFIC_DAYLIGHT)
INSTALLED_AT = datetime(2026, 1, 15, 0, 0, tzinfo=PACIFIC_STANDARD)
SIZES = [("5/8", 80), ("3/4", 12), ("1", 6), ("1.5", 1), ("2", 1)]
FIXED = {"5/8": "20.75", "3/4": "31.13", "1": "51.88", "1.5": "103.75", "2": "166.00"}
TIERS = [("6", "3.10"), ("15", "4.20"), (None, "6.85")]
SURCHARGE = "4.10"
TARIFF = {
    "tariff_id": "residential", "version": 2, "effective_from": "2026-01-01", "adopted_by": "benchmark",
    "name": "Residential, 3 tiers", "customer_classes": ["residential"], "meter_sizes": list(FIXED),
    "charges": [
        {"rule": "fixed_by_meter_size", "description": 'Service charge, {meter_size}" meter', "rates": FIXED},
        {"rule": "tiered", "description": "Water usage",
         "tiers": [{"upto": upto, "rate": rate} if upto else {"rate": rate} for upto, rate in TIERS]},
        {"rule": "fixed_surcharge", "description": "Treatment surcharge", "rate": SURCHARGE}]}

# The same bill in one statement: per-line half-up rounding (round() on numeric rounds half away
# from zero), fixed by size + three tiers + surcharge, for every account with both reads.
ONE_STATEMENT = f"""
with usage as (
    select m.size, e.validated_value - s.validated_value as hcf
    from service_accounts a
    join installations i on i.connection_id = a.connection_id and i.removed_on is null
    join meters m on m.serial = i.serial
    join register_reads s on s.meter_serial = i.serial and s.read_at = :start_at
    join register_reads e on e.meter_serial = i.serial and e.read_at = :end_at
)
select count(*), sum(
    round(case size {' '.join(f"when '{s}' then {r}" for s, r in FIXED.items())} end, 2)
    + round(least(hcf, 6) * 3.10, 2)
    + case when hcf > 6 then round((least(hcf, 15) - 6) * 4.20, 2) else 0 end
    + case when hcf > 15 then round((hcf - 15) * 6.85, 2) else 0 end
    + {SURCHARGE})
from usage
"""


def copy_rows(engine: sa.Engine, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin", buffer)
        raw.commit()
    finally:
        raw.close()


def seed(accounts: int) -> None:
    rng = random.Random(42)
    ids = [f"A{n:07d}" for n in range(1, accounts + 1)]
    sizes = rng.choices([s for s, _ in SIZES], weights=[w for _, w in SIZES], k=accounts)
    usages = [Decimal(rng.randint(0, 4000)) / 100 for _ in ids]
    no_end_read = set(rng.sample(range(accounts), accounts // 200))
    billing = sa.create_engine(config.database_url("billing"))
    copy_rows(billing, "accounts", ["account_id", "bill_cycle", "customer_class", "authorized_meter_size",
                                    "opened_on", "status", "dwelling_units"],
              ((a, "B", "residential", s, "2026-01-15", "open", 1) for a, s in zip(ids, sizes)))
    with UnitOfWork(sessionmaker(bind=billing, expire_on_commit=False), "billing") as uow:
        load_tariff(uow, TARIFF)
    billing.dispose()

    metering = sa.create_engine(config.database_url("metering"))
    with metering.begin() as connection:
        if connection.scalar(sa.text("select count(*) from pg_proc where proname = 'ensure_register_read_partition'")):
            for instant in (INSTALLED_AT, START_READ_AT, END_READ_AT):
                connection.execute(sa.text("select ensure_register_read_partition(:i)"), {"i": instant})
        read_columns = set(connection.scalars(sa.text(
            "select column_name from information_schema.columns where table_name = 'register_reads'")).all())
    copy_rows(metering, "service_accounts", ["account_id", "connection_id", "status", "opened_on"],
              ((a, f"SC{a[1:]}", "open", "2026-01-15") for a in ids))
    copy_rows(metering, "meters", ["serial", "size", "register_digits", "unit", "status"],
              ((f"M{a[1:]}", s, 6, "HCF", "installed") for a, s in zip(ids, sizes)))
    copy_rows(metering, "installations", ["serial", "connection_id", "installed_on", "installed_at"],
              ((f"M{a[1:]}", f"SC{a[1:]}", "2026-01-15", INSTALLED_AT.isoformat()) for a in ids))
    wanted = ["meter_serial", "register", "read_at", "value", "unit", "validated_value", "quality", "source"]
    columns = [c for c in wanted if c in read_columns]

    def reads():
        for n, (account, usage) in enumerate(zip(ids, usages)):
            start = Decimal(rng.randint(100, 90000))
            yield from ((f"M{account[1:]}", at, value) for at, value in
                        [(INSTALLED_AT, start), (START_READ_AT, start)]
                        + ([] if n in no_end_read else [(END_READ_AT, start + usage)]))

    every = {"register": "main", "unit": "HCF", "quality": "actual", "source": "ami"}
    copy_rows(metering, "register_reads", columns, (
        tuple({"meter_serial": serial, "read_at": at.isoformat(), "value": value, "validated_value": value,
               **every}[c] for c in columns) for serial, at, value in reads()))
    with metering.begin() as connection:
        connection.execute(sa.text("analyze"))
    metering.dispose()


def start_services() -> list[subprocess.Popen]:
    processes = []
    for service in ("metering", "billing"):
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cis_bench_{RUN_ID}_{service}.log"
        with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen([sys.executable, "-m", "cis_runtime.edge.launch", service],
                                       stdout=subprocess.PIPE, stderr=log, text=True)
        processes.append(process)
    for process in processes:
        while "READY" not in (line := process.stdout.readline()):
            if not line and process.poll() is not None:
                raise SystemExit("a service failed to start")
    return processes


def cpu_seconds(pids) -> float:
    """User + system CPU time of processes (Linux /proc); a process gone since counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def database_backends() -> list[int]:
    engine = sa.create_engine(config.database_url("billing"))
    try:
        with engine.connect() as connection:
            return connection.scalars(sa.text("select pid from pg_stat_activity where datname like :prefix"),
                                      {"prefix": os.environ["CIS_DB_PREFIX"] + "%"}).all()
    finally:
        engine.dispose()


def billing_scalar(sql: str, **params):
    engine = sa.create_engine(config.database_url("billing"))
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), params).one()
    finally:
        engine.dispose()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--relay-wait", type=float, default=180.0,
                        help="seconds to wait for the outbox relay to publish every event (0: just report)")
    args = parser.parse_args()
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", VHOST], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    processes = []
    try:
        for service in ("billing", "metering"):
            db.prepare_database(service)
        with Connection(config.amqp_uri()) as connection:  # so bill_issued events are routable
            Queue("bench.bill_issued", Exchange("cis.events", "topic", durable=True),
                  routing_key="billing.#", durable=True)(connection.default_channel).declare()
        started = time.perf_counter()
        seed(args.accounts)
        print(f"seeded {args.accounts:,} accounts, meters, installations and reads in "
              f"{time.perf_counter() - started:.1f} s")
        processes = start_services()
        run_and_report(args, {"billing": processes[1].pid, "metering": processes[0].pid})
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        for service in ("billing", "metering"):
            db.drop_database(config.database_url(service))
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, check=False)


def run_and_report(args, service_pids: dict[str, int]) -> None:
    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=120) as rpc:
        request = {"cycle": "B", "period_start": PERIOD[0], "period_end": PERIOD[1]}
        cpu_before = {name: cpu_seconds([pid]) for name, pid in service_pids.items()}
        backends_first, backends_last = {}, {}  # PostgreSQL backend pid -> CPU seconds when first/last seen
        started = time.perf_counter()
        run = rpc.billing.start_bill_run(request)
        while run["status"] != "completed":
            for pid in database_backends():
                backends_last[pid] = cpu_seconds([pid])
                backends_first.setdefault(pid, backends_last[pid])
            time.sleep(0.5)
            run = rpc.billing.get_bill_run(run["run_id"])
        elapsed = time.perf_counter() - started
        used = {name: cpu_seconds([pid]) - cpu_before[name] for name, pid in service_pids.items()}
        used["postgres"] = sum(backends_last[pid] - backends_first[pid] for pid in backends_last)
        bills, billed, lines, ledger, events = billing_scalar(
            "select (select count(*) from bills), (select sum(total) from bills), (select count(*) from bill_lines),"
            " (select count(*) from ledger_entries),"
            " (select count(*) from outbox where message_name = 'billing.bill_issued.v1')")
        print(f"bill run: {run['accounts_total']:,} accounts, {bills:,} bills ({lines:,} lines, {ledger:,} ledger "
              f"entries, {events:,} bill_issued events in the outbox), {len(run['exceptions']):,} exceptions "
              f"(e.g. {run['exceptions'][0]['reason'] if run['exceptions'] else '-'}) in {elapsed:.2f} s "
              f"= {bills / elapsed:,.0f} bills/s  [target: 100,000 in <= 30 s]")
        print("CPU seconds during the run: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in used.items())
              + f" (PostgreSQL: its backends serving the suite, sampled every 0.5 s); load average {os.getloadavg()[0]:.2f}")

        metering = sa.create_engine(config.database_url("metering"))
        with metering.connect() as connection:
            sql_started = time.perf_counter()
            sql_count, sql_total = connection.execute(sa.text(ONE_STATEMENT),
                                                      {"start_at": START_READ_AT, "end_at": END_READ_AT}).one()
            sql_elapsed = time.perf_counter() - sql_started
        metering.dispose()
        print(f"one SQL statement: {sql_count:,} bills totalling {sql_total} in {sql_elapsed:.2f} s; the run "
              f"billed {billed} ({'same' if sql_total == billed and sql_count == bills else 'DIFFERENT'}); "
              f"run / statement = {elapsed / sql_elapsed:.0f}x")

        again = rpc.billing.start_bill_run(request)
        time.sleep(1.0)  # a poller tick: a completed run must stay untouched
        bills_after, events_after = billing_scalar(
            "select (select count(*) from bills),"
            " (select count(*) from outbox where message_name = 'billing.bill_issued.v1')")
        unchanged = (again["run_id"], bills_after, events_after) == (run["run_id"], bills, events)
        print(f"re-running the finished cycle: same run {again['run_id']}, {bills_after - bills} new bills, "
              f"{events_after - events} new events -> {'OK' if unchanged else 'FAILED'}")

    waited_from = time.perf_counter()
    while True:
        unsent, = billing_scalar("select count(*) from outbox where sent_at is null")
        waited = time.perf_counter() - waited_from
        if unsent == 0 or waited >= args.relay_wait:
            break
        time.sleep(1)
    print(f"outbox relay (held during the run): {events - unsent:,} of {events:,} events published and confirmed "
          f"by RabbitMQ {time.perf_counter() - started:.1f} s after the run started")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
