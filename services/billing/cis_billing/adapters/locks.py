"""PostgreSQL advisory locks: one worker at a time on a piece of work, across processes."""
import zlib
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session


@contextmanager
def try_advisory_lock(engine: sa.Engine, name: str):
    """Yields True if this process now holds the lock named `name` (until the block ends), else False.

    A session lock on a connection kept for the block: if the process dies, PostgreSQL
    drops the connection and the lock with it, so another worker can resume.
    """
    key = zlib.crc32(name.encode())
    with engine.connect() as connection:
        held = connection.scalar(sa.text("select pg_try_advisory_lock(:k)"), {"k": key})
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


LEDGER_LOCKS = 1  # the class of two-key advisory locks held on account ledgers
BILL_CYCLE_LOCKS = 2  # ... and on a bill cycle's periods while a run is requested


def lock_bill_cycle(session: Session, cycle: str) -> None:
    """Hold the cycle until the transaction ends, so two runs requested at once cannot both pass the
    check of the cycle's periods."""
    session.execute(sa.text(f"select pg_advisory_xact_lock({BILL_CYCLE_LOCKS}, hashtext(:cycle))"), {"cycle": cycle})


def lock_ledgers(session: Session, account_ids: list[str]) -> None:
    """Hold these accounts' ledgers until the transaction ends, so a balance read after this is
    exact: everything that posts to a ledger (bill runs, payments, adjustments) takes this lock
    first. Transaction advisory locks write nothing, unlike SELECT ... FOR UPDATE, which costs a
    100,000-account bill run seconds; they are taken in account order so posters cannot deadlock."""
    session.execute(_LOCK_LEDGERS, {"ids": sorted(set(account_ids))})


# unnest yields the array in order, and the scan calls the lock function row by row.
_LOCK_LEDGERS = sa.text(f"select pg_advisory_xact_lock({LEDGER_LOCKS}, hashtext(account_id)) "
                        "from unnest(cast(:ids as text[])) as account_id")
