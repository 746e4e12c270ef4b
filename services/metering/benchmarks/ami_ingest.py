"""AMI ingestion benchmark: a synthetic district of 100,000 meters x 24 hourly readings (2.4 M reads).

    .venv/bin/python services/metering/benchmarks/ami_ingest.py [--meters 100000] [--blocks-per-batch 1000]

1. Creates benchmark databases (prefix bench<random>_) and a RabbitMQ vhost, migrates metering and
   declares its queues (`python -m cis_runtime.edge.launch metering --prepare`), seeds the meters,
   installations and accounts with SQL.
2. Starts the metering service as its own process (`python -m cis_runtime.edge.launch metering`).
3. A SEPARATE publisher process (plain kombu, no nameko) builds the batches of
   metering.ami_interval_reads.v1 first, then publishes them to exchange ami.inbound.
4. Times end to end, from the publisher's first publish until every reading is validated and stored in
   PostgreSQL, then COPYs the same rows straight into the same (emptied) table and prints the ratio.
5. Times billing determinants (metering.get_consumption.v1 over RPC) for every account.
Everything it created is removed at the end. On a shared machine the figures are pessimistic.
"""
import argparse
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INTERVAL_START = datetime(2026, 1, 15, 8, 0, tzinfo=timezone.utc)  # midnight PST
HOURS = 24


def serial(number: int) -> str:
    return f"BDG{number:08d}"


def hourly_readings(number: int) -> list[str]:
    """Cumulative register readings in HCF (3 decimals): a few gallons an hour, more by day, none from
    3 to 4 am (water flowing every hour of a day is a possible leak, which VEE reports)."""
    total, readings = Decimal(100) + (number % 5000) * Decimal("0.37"), []
    for hour in range(HOURS):
        readings.append(f"{total:.3f}")
        total += 0 if hour == 3 else Decimal("0.004") + ((number + hour) % 7) * Decimal("0.003")
    return readings


# ---------------------------------------------------------------- the publisher process

def publisher_main(amqp_uri: str, meters: int, blocks_per_batch: int) -> None:
    """Build every batch, say READY, wait for GO on stdin, publish with confirms, print timings."""
    from kombu import Connection, Exchange, Producer

    start = INTERVAL_START.isoformat()
    bodies = []
    for first in range(1, meters + 1, blocks_per_batch):
        batch_id = f"bench-{first}"
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, batch_id))
        blocks = [{"meter_serial": serial(n), "interval_start": start, "interval_seconds": 3600,
                   "values": hourly_readings(n)} for n in range(first, min(first + blocks_per_batch, meters + 1))]
        bodies.append(json.dumps({
            "message_id": message_id, "type": "metering.ami_interval_reads", "version": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "bench-headend",
            "correlation_id": message_id,
            "payload": {"batch_id": batch_id, "head_end": "bench-headend", "blocks": blocks}}))
    exchange = Exchange("ami.inbound", type="topic", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        producer.declare()
        print(f"READY {len(bodies)} {sum(map(len, bodies))}", flush=True)
        sys.stdin.readline()
        started = time.time()
        for body in bodies:
            producer.publish(body, exchange=exchange, routing_key="metering.ami_interval_reads.v1",
                             declare=[exchange], content_type="application/json", content_encoding="utf-8",
                             delivery_mode=2)
        print(f"DONE {started} {time.time()}", flush=True)


# ---------------------------------------------------------------- the benchmark driver

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--blocks-per-batch", type=int, default=2000)
    parser.add_argument("--beacon-rows", type=int, default=1_000_000)
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        publisher_main(os.environ["CIS_AMQP_URI"], args.meters, args.blocks_per_batch)
        return
    run_id = uuid.uuid4().hex[:6]
    vhost = f"cis_bench_{run_id}"
    amqp_base = os.environ.get("CIS_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    # 3 workers on 2 cores: more concurrent transactions only contend for the CPUs PostgreSQL needs.
    os.environ.setdefault("CIS_MAX_WORKERS", "3")
    os.environ.update({"CIS_DB_PREFIX": f"bench{run_id}_", "CIS_LOG_LEVEL": "WARNING",
                       "CIS_AMQP_URI": amqp_base.rstrip("/") + "/" + quote(vhost, safe="")})
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    service = None
    try:
        launch = [sys.executable, "-m", "cis_runtime.edge.launch", "metering"]
        subprocess.run(launch + ["--prepare"], check=True)
        engine = _engine()
        _seed(engine, args.meters)
        service = subprocess.Popen(launch, stdout=subprocess.PIPE, text=True)
        _wait_for_line(service, "READY")
        expected = args.meters * HOURS
        cpu_before = _cpu_seconds(service.pid)
        seconds = _publish_and_wait(engine, args, expected)
        print(f"metering service process used {_cpu_seconds(service.pid) - cpu_before:.1f} s of CPU")
        print(f"AMI end to end: {expected:,} readings in {seconds:.2f} s = {expected / seconds:,.0f} "
              f"validated reads/s (publisher process -> RabbitMQ -> metering -> PostgreSQL)")
        _check_stored(engine, expected)
        copy_seconds = _plain_copy(engine, args.meters)
        print(f"plain COPY of the same rows into the same table: {copy_seconds:.2f} s = "
              f"{expected / copy_seconds:,.0f} rows/s; end to end / COPY = {copy_seconds / seconds:.2f}")
        _time_determinants(args.meters)
        _time_beacon_import(engine, args.beacon_rows)
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=60)
        _drop_everything(vhost)


def _engine():
    import sqlalchemy as sa

    from cis_runtime import config
    return sa.create_engine(config.database_url("metering"))


def _seed(engine, meters: int) -> None:
    """Meters installed on 1 Dec 2025 with an install read, each on an open account."""
    import sqlalchemy as sa
    started = time.perf_counter()
    with engine.begin() as db:
        db.execute(sa.text("select ensure_register_read_partition(timestamptz '2025-12-15')"))
        db.execute(sa.text("""
            insert into meters select 'BDG' || lpad(n::text, 8, '0'), '5/8', 'Badger', 'M25', 6, 'HCF', 'installed'
            from generate_series(1, :n) n"""), {"n": meters})
        db.execute(sa.text("""
            insert into installations (serial, connection_id, installed_on, installed_at)
            select 'BDG' || lpad(n::text, 8, '0'), 'SC' || lpad(n::text, 8, '0'), '2025-12-01',
                   timestamptz '2025-12-01 00:00 America/Los_Angeles' from generate_series(1, :n) n"""), {"n": meters})
        db.execute(sa.text("""
            insert into service_accounts select 'A' || lpad(n::text, 8, '0'), 'SC' || lpad(n::text, 8, '0'),
                   'open', '2025-12-01' from generate_series(1, :n) n"""), {"n": meters})
        db.execute(sa.text("""
            insert into register_reads (meter_serial, register, read_at, value, unit, validated_value, quality, source)
            select serial, 'main', installed_at, 50, 'HCF', 50, 'actual', 'install' from installations"""))
        db.execute(sa.text("analyze"))
    print(f"seeded {meters:,} meters, installations, accounts in {time.perf_counter() - started:.1f} s")


def _publish_and_wait(engine, args, expected: int) -> float:
    import sqlalchemy as sa
    publisher = subprocess.Popen(
        [sys.executable, __file__, "--publisher", "--meters", str(args.meters),
         "--blocks-per-batch", str(args.blocks_per_batch)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = _wait_for_line(publisher, "READY").split()
    print(f"publisher built {int(ready[1]):,} batches ({int(ready[2]) / 1e6:.0f} MB of JSON)")
    publisher.stdin.write("go\n")
    publisher.stdin.flush()
    done = _wait_for_line(publisher, "DONE").split()
    started, published = float(done[1]), float(done[2])
    print(f"publisher: {int(ready[1])} batches published in {published - started:.2f} s")
    with engine.connect() as db:
        while True:
            stored = db.scalar(sa.text("select coalesce(sum(stored_count + held_count), 0) from ami_batches"))
            if stored >= expected:
                break
            time.sleep(0.05)
    finished = time.time()
    publisher.wait()
    return finished - started


def _check_stored(engine, expected: int) -> None:
    import sqlalchemy as sa
    with engine.connect() as db:
        actual = db.scalar(sa.text("select count(*) from register_reads where source = 'ami' "
                                   "and validated_value is not null"))
        exceptions = db.scalar(sa.text("select count(*) from read_exceptions"))
    print(f"stored and validated: {actual:,} of {expected:,}; read exceptions: {exceptions:,}")
    assert actual == expected, "not every reading was validated and stored"


def _plain_copy(engine, meters: int) -> float:
    """The same rows, one line per reading, COPYed into the same table after emptying its month."""
    import sqlalchemy as sa
    buffer = io.StringIO()
    for number in range(1, meters + 1):
        name = serial(number)
        for hour, reading in enumerate(hourly_readings(number)):
            at = (INTERVAL_START + timedelta(hours=hour)).isoformat()
            buffer.write(f"{name}\tmain\t{at}\t{reading}\tHCF\t{reading}\tactual\tami\tcopy\n")
    with engine.begin() as db:
        db.execute(sa.text("truncate register_reads_p2026_01"))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer.seek(0)
        started = time.perf_counter()
        cursor.copy_expert("copy register_reads (meter_serial, register, read_at, value, unit, validated_value, "
                           "quality, source, batch_id) from stdin", buffer)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _time_determinants(accounts: int) -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from cis_contracts.metering import MAX_ACCOUNTS_PER_CONSUMPTION_REQUEST as chunk
    from cis_runtime import config
    account_ids = [f"A{n:08d}" for n in range(1, accounts + 1)]
    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=300) as rpc:
        for method, version in (("get_consumption", "v1"), ("get_determinants", "v2")):
            started = time.perf_counter()
            determinants = missing = 0
            for first in range(0, accounts, chunk):
                result = getattr(rpc.metering, method)({
                    "period_start": "2026-01-01", "period_end": "2026-01-31",
                    "account_ids": account_ids[first:first + chunk]})
                determinants += len(result["determinants"])
                missing += len(result["missing"]) + len(result.get("held", []))
            seconds = time.perf_counter() - started
            print(f"determinants (metering.{method} {version}, {chunk:,} accounts per call): {accounts:,} accounts "
                  f"in {seconds:.2f} s ({determinants:,} determinants, {missing:,} missing or held)")


def _time_beacon_import(engine, row_count: int) -> None:
    """A BEACON interval export of `row_count` rows (24 hourly rows per endpoint, 16 Jan 2026, local
    time: the day after the AMI batches, registers carrying on from them, so VEE across batches finds
    nothing) imported with the command line, as staff would."""
    import tempfile

    import sqlalchemy as sa
    endpoints = -(-row_count // HOURS)
    with engine.begin() as db:  # the meters' radio endpoints: serial BDG00000042 has endpoint 900000042
        db.execute(sa.text("update meters set ami_endpoint_id = '9' || substr(serial, 4) "
                           "where substr(serial, 4)::int <= :n"), {"n": endpoints})
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "beacon.csv")
        with open(path, "w") as export:
            export.write("Endpoint_SN,Endpoint_Type,Encoder_Value,Read_Time,Read_Interval\n")
            written = 0
            for number in range(1, endpoints + 1):
                readings = hourly_readings(number)
                day_use = Decimal(readings[-1]) - Decimal(readings[0]) + Decimal("0.010")  # the register carries on
                for hour, reading in enumerate(readings):
                    if written == row_count:
                        break
                    export.write(f"9{number:08d},ORION_CELLULAR,{Decimal(reading) + day_use},"
                                 f"2026-01-16 {hour:02d}:00:00,60\n")
                    written += 1
        started = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "max_rss_kb=%M", sys.executable, "-m", "cis_metering.imports",
                                 "beacon", path], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        report = json.loads(result.stdout)
        max_rss_mb = int(result.stderr.rsplit("max_rss_kb=", 1)[1].split()[0]) / 1024
        started = time.perf_counter()
        again = json.loads(subprocess.run([sys.executable, "-m", "cis_metering.imports", "beacon", path],
                                          capture_output=True, text=True, check=True).stdout)
        again_seconds = time.perf_counter() - started
    print(f"BEACON CSV import (python -m cis_metering.imports beacon): {row_count:,} rows in {seconds:.2f} s "
          f"= {row_count / seconds:,.0f} rows/s (stored {report['stored']:,}, held {report['held']:,}, "
          f"rejected {len(report['rejected']):,}; importer's peak memory {max_rss_mb:,.0f} MB); "
          f"the same file again: {again_seconds:.2f} s, "
          f"already imported = {again['already_imported']}")


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_line(process, prefix: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError(f"process exited ({process.returncode}) before printing {prefix}")
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"no {prefix} within {timeout} s")


def _drop_everything(vhost: str) -> None:
    from cis_runtime import config, db
    db.drop_database(config.database_url("metering"))
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


if __name__ == "__main__":
    main()
