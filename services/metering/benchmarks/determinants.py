"""Billing determinants benchmark: 100,000 accounts, in process (service layer + contract dump, no RPC).

    .venv/bin/python services/metering/benchmarks/determinants.py [--accounts 100000] [--compound 0]

Creates a database (prefix bench<random>_), seeds meters installed on 1 Dec 2025 with an install read
and 24 hourly AMI readings on 15 Jan 2026 (the AMI benchmark's data), then times
services.get_consumption (v1) and services.get_determinants (v2) for January, and
billing_determinants (v3, with estimate_missing_reads, as the bill run asks) for the month ending
15 January, in calls of 20,000 accounts, each result dumped with its response contract as the RPC
does. `--compound N` makes the first N meters compound (high and low registers). The database is
dropped at the end.
The transport (RPC, chunking) is measured by ami_ingest.py; this isolates the query and calculation.
"""
import argparse
import os
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--compound", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ["CIS_DB_PREFIX"] = f"bench{uuid.uuid4().hex[:6]}_"
    from cis_runtime import config, db
    url = config.database_url("metering")
    db.prepare_database("metering", url)
    try:
        engine = db.make_engine(url)
        _seed(engine, args.accounts, args.compound)
        for _ in range(args.repeat):
            _time(engine, args.accounts)
        engine.dispose()
    finally:
        db.drop_database(url)


def _seed(engine, accounts: int, compound: int) -> None:
    import sqlalchemy as sa
    started = time.perf_counter()
    with engine.begin() as connection:
        for month in ("2025-12-15", "2026-01-15"):
            connection.execute(sa.text("select ensure_register_read_partition(cast(:m as timestamptz))"), {"m": month})
        connection.execute(sa.text("""
            insert into meters (serial, size, make, model, register_digits, unit, status, meter_type)
            select 'BDG' || lpad(n::text, 8, '0'), '5/8', 'Badger', 'M25', 6, 'HCF', 'installed',
                   case when n <= :compound then 'compound' else 'displacement' end
            from generate_series(1, :n) n"""), {"n": accounts, "compound": compound})
        connection.execute(sa.text("""
            insert into installations (serial, connection_id, installed_on, installed_at)
            select 'BDG' || lpad(n::text, 8, '0'), 'SC' || lpad(n::text, 8, '0'), '2025-12-01',
                   timestamptz '2025-12-01 00:00 America/Los_Angeles' from generate_series(1, :n) n"""),
                           {"n": accounts})
        connection.execute(sa.text("""
            insert into service_accounts select 'A' || lpad(n::text, 8, '0'), 'SC' || lpad(n::text, 8, '0'),
                   'open', '2025-12-01' from generate_series(1, :n) n"""), {"n": accounts})
        connection.execute(sa.text("""
            insert into register_reads (meter_serial, register, read_at, value, unit, validated_value, quality, source)
            select i.serial, r.register, i.installed_at, 50, 'HCF', 50, 'actual', 'install'
            from installations i join meters m on m.serial = i.serial
            cross join lateral unnest(case when m.meter_type = 'compound' then array['high', 'low']
                                      else array['main'] end) as r(register)"""))
        connection.execute(sa.text("""
            insert into register_reads (meter_serial, register, read_at, value, unit, validated_value, quality, source)
            select m.serial, r.register, timestamptz '2026-01-15 00:00 America/Los_Angeles' + h * interval '1 hour',
                   100 + h * 0.01, 'HCF', 100 + h * 0.01, 'actual', 'ami'
            from meters m cross join generate_series(0, 23) h
            cross join lateral unnest(case when m.meter_type = 'compound' then array['high', 'low']
                                      else array['main'] end) as r(register)"""))
        connection.execute(sa.text("analyze"))
    print(f"seeded {accounts:,} accounts ({compound:,} compound meters) in {time.perf_counter() - started:.1f} s")


def _time(engine, accounts: int) -> None:
    from sqlalchemy.orm import sessionmaker

    from cis_contracts.dumper import dumper
    from cis_contracts.metering import MAX_ACCOUNTS_PER_CONSUMPTION_REQUEST as chunk
    from cis_contracts.registry import get as contract
    from cis_metering.service_layer import billing_determinants, services
    from cis_runtime.uow import UnitOfWork
    from cis_runtime.validation import load_request
    sessions = sessionmaker(bind=engine)
    account_ids = [f"A{n:08d}" for n in range(1, accounts + 1)]
    january = {"period_start": "2026-01-01", "period_end": "2026-01-31"}
    # The bill run's call: a period ending on the day of the readings (they are current: nothing to estimate).
    bill_run = {"period_start": "2025-12-16", "period_end": "2026-01-15", "estimate_missing_reads": True}
    for function, version, period, dump in (
            (services.get_consumption, "v1", january, contract("metering.consumption_response.v1").schema().dump),
            (services.get_determinants, "v2", january, contract("metering.consumption_response.v2").schema().dump),
            (billing_determinants.get_billing_determinants, "v3", bill_run,
             dumper("metering.consumption_response.v3"))):
        started = time.perf_counter()
        determinants = others = 0
        for first in range(0, accounts, chunk):
            request = load_request(f"metering.consumption_request.{version}", {
                **period, "account_ids": account_ids[first:first + chunk]})
            with UnitOfWork(sessions, "metering") as uow:
                result = dump(function(uow, request))
            determinants += len(result["determinants"])
            others += len(result["missing"]) + len(result.get("held", []))
        seconds = time.perf_counter() - started
        print(f"determinants {version} ({function.__name__}, {chunk:,} per call): {accounts:,} accounts in "
              f"{seconds:.2f} s ({determinants:,} determinants, {others:,} missing or held)")


if __name__ == "__main__":
    main()
