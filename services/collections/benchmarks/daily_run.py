"""Benchmark: the daily collections run for 100,000 accounts, 10% of them delinquent (target: <= 10 s).

Prints two figures:
  1. the engine alone: `decide` for every account's state, in memory;
  2. the whole run against PostgreSQL: `run_daily` (select, load state, decide, notices and work
     orders into the outbox, write back, commit) on a benchmark database created, migrated and seeded
     here with COPY, then dropped.

    .venv/bin/python services/collections/benchmarks/daily_run.py [--accounts 100000] [--delinquent 0.10]

The delinquent accounts' oldest due dates are spread over the last 120 days, so on the run's date
some get reminders, some shutoff and Occupant notices, some 48-hour notices and some shutoff orders,
as on a real day. The machine may be shared: figures are pessimistic.
"""
import argparse
import io
import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from cis_collections.adapters.reference_data import collections_policy, district_calendar
from cis_collections.domain import engine
from cis_collections.domain.engine import AccountState, Bill, ContactAttempt, ShutoffNoticeRecord
from cis_collections.service_layer import services
from cis_runtime import config, db
from cis_runtime.uow import UnitOfWork

TODAY = date(2026, 6, 23)
SEED = 20260623


def account_plan(accounts: int, delinquent_share: float):
    """(account_id, days past due or None, has notice, contact reached) for every account, reproducibly."""
    rng = random.Random(SEED)
    delinquent = set(rng.sample(range(accounts), int(accounts * delinquent_share)))
    for n in range(accounts):
        account_id = f"A{n:07d}"
        if n in delinquent:
            days_past_due = rng.randint(1, 120)
            yield account_id, days_past_due, days_past_due > 40, rng.random() < 0.5
        else:
            yield account_id, None, False, False


def bill_dates(days_past_due):
    due_on = TODAY - timedelta(days=days_past_due) if days_past_due else TODAY + timedelta(days=10)
    return due_on - timedelta(days=21), due_on


def last_monthly_penalty(days_past_due, due_on):
    """A steady state: the monthly penalty of this month was requested on the 1st, or on the day the bill
    became 30 days past due; accounts reaching 30 days today get theirs in the run."""
    if days_past_due is None or days_past_due <= 30:
        return None
    return max(TODAY.replace(day=1), due_on + timedelta(days=30))


def engine_states(plan) -> list[AccountState]:
    states = []
    for account_id, days_past_due, noticed, reached in plan:
        issued_on, due_on = bill_dates(days_past_due)
        state = AccountState(account_id, "Customer", "PO Box 1", "1 Main St",
                             bills=[Bill(f"B{account_id[1:]}", Decimal("64.55"), issued_on, due_on,
                                         reminded=days_past_due is not None and days_past_due > 1)])
        state.last_monthly_penalty_on = last_monthly_penalty(days_past_due, due_on)
        if noticed:
            mailed_on = due_on + timedelta(days=30)
            state.shutoff_notice = ShutoffNoticeRecord(f"N{account_id[1:]}", mailed_on, mailed_on,
                                                       due_on + timedelta(days=61), Decimal("64.55"),
                                                       (state.bills[0].bill_id,), True, mailed_on)
            state.contact_attempts.append(ContactAttempt(due_on + timedelta(days=55), reached))
        states.append(state)
    return states


def time_engine(accounts: int, delinquent_share: float) -> float:
    states = engine_states(account_plan(accounts, delinquent_share))
    calendar, policy = district_calendar(), collections_policy()
    started = time.perf_counter()
    due = sum(len(engine.decide(s, TODAY, calendar, policy).due_actions(TODAY)) for s in states)
    elapsed = time.perf_counter() - started
    print(f"engine alone: {accounts:,} accounts decided in {elapsed:.2f} s ({due:,} actions due)")
    return elapsed


def copy_rows(cursor, table: str, columns: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"copy {table} ({columns}) from stdin", buffer)


def seed(url: str, accounts: int, delinquent_share: float) -> None:
    plan = list(account_plan(accounts, delinquent_share))
    account_rows, bill_rows, notice_rows, attempt_rows = [], [], [], []
    for account_id, days_past_due, noticed, reached in plan:
        issued_on, due_on = bill_dates(days_past_due)
        number = account_id[1:]
        delinquent = days_past_due is not None and days_past_due > 1
        notice_id = f"NB{number}" if noticed else None  # apart from the sequence ids
        mailed_on = due_on + timedelta(days=30) if noticed else None
        account_rows.append((account_id, "delinquent" if delinquent else "current", "0.00",
                             due_on + timedelta(days=1) if delinquent else None, "Customer", "PO Box 1", "1 Main St",
                             f"001-{number}", "Customer", notice_id, mailed_on, mailed_on, "t" if noticed else "f",
                             last_monthly_penalty(days_past_due, due_on)))
        bill_rows.append((f"B{number}", account_id, "64.55", "0.00", issued_on, due_on,
                          f"R{number}" if delinquent else None, issued_on))
        if noticed:
            notice_rows.append((notice_id, account_id, "shutoff_notice", due_on + timedelta(days=30), "64.55",
                                "{B" + number + "}", due_on, due_on + timedelta(days=61)))
            attempt_rows.append((f"CA{number}", account_id, due_on + timedelta(days=55), "t" if reached else "f"))
    raw = sa.create_engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        copy_rows(cursor, "collection_accounts", "account_id, status, credit, delinquent_since, customer_name, "
                  "mailing_address, service_address, apn, owner_of_record, shutoff_notice_id, occupant_copy_on, "
                  "shutoff_notice_mailed_on, occupant_copy_requested, last_monthly_penalty_on",
                  account_rows)
        copy_rows(cursor, "receivables", "bill_id, account_id, amount, paid, issued_on, due_on, past_due_notice_id, "
                  "delivered_on", bill_rows)
        copy_rows(cursor, "notices", "notice_id, account_id, kind, requested_on, amount_past_due, bill_ids, "
                  "oldest_due_on, shutoff_on", notice_rows)
        copy_rows(cursor, "contact_attempts", "attempt_id, account_id, attempted_on, reached_adult", attempt_rows)
        cursor.execute("insert into business_clock (id, business_date) values (1, %s) "
                       "on conflict (id) do update set business_date = excluded.business_date", (TODAY,))
        cursor.execute("analyze")
        raw.commit()
    finally:
        raw.close()


def billing_agrees(request: dict) -> dict:
    """Billing's ledger positions for the seeded accounts (one unpaid bill each), answered in process: the
    figure is collections' own work; a real billing.ledger_positions call per 2,000 accounts adds its RPC."""
    return {"business_date": TODAY.isoformat(),
            "positions": [{"account_id": a, "entries": 1, "balance": "64.55"} for a in request["account_ids"]]}


def time_whole_run(accounts: int, delinquent_share: float) -> float:
    url = f"{config.pg_server_url()}/cis_bench_collections_{os.getpid()}".replace(
        "postgresql://", "postgresql+psycopg2://", 1)
    db.create_database(url)
    try:
        db.upgrade("collections", url)
        seed(url, accounts, delinquent_share)
        bench_engine = db.make_engine(url)
        session_factory = sessionmaker(bind=bench_engine, expire_on_commit=False)
        started = time.perf_counter()
        with UnitOfWork(session_factory, "collections") as uow:
            run = services.run_daily(uow, billing_agrees)
        elapsed = time.perf_counter() - started
        with bench_engine.connect() as connection:
            events = connection.execute(sa.text(
                "select message_name, count(*) from outbox group by 1 order by 1")).all()
        bench_engine.dispose()
        print(f"whole run on PostgreSQL: {accounts:,} accounts in {elapsed:.2f} s "
              f"(assessed {run['accounts_assessed']:,}, newly delinquent {run['newly_delinquent']:,}, "
              f"reminders {run['notices_requested']:,}, actions {run['actions_taken']:,}, "
              f"deferred {run['accounts_deferred']:,}, failed {len(run['accounts_failed']):,})")
        for name, count in events:
            print(f"  outbox {name}: {count:,}")
        return elapsed
    finally:
        db.drop_database(url)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--delinquent", type=float, default=0.10)
    args = parser.parse_args(argv)
    print(f"daily collections run, business date {TODAY}, {args.accounts:,} accounts, "
          f"{args.delinquent:.0%} delinquent (shared machine: figures are pessimistic)")
    time_engine(args.accounts, args.delinquent)
    whole = time_whole_run(args.accounts, args.delinquent)
    print(f"target <= 10 s for the whole run: {'met' if whole <= 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
