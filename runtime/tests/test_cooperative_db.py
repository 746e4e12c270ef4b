"""psycopg2 under eventlet.monkey_patch() must let other green threads run during a query,
or one slow query would stall a whole service."""
import time

import eventlet

from cis_runtime.edge.dependencies import engine_for
import sqlalchemy as sa


def test_five_concurrent_one_second_queries_finish_in_well_under_five_seconds(service_db):
    service_db("accounts")
    engine = engine_for("accounts")

    def sleep_one_second(_):
        with engine.connect() as connection:
            connection.execute(sa.text("select pg_sleep(1)"))

    pool = eventlet.GreenPool(5)
    started = time.monotonic()
    list(pool.imap(sleep_one_second, range(5)))
    elapsed = time.monotonic() - started

    assert elapsed < 2.5, f"5 x 1 s queries took {elapsed:.2f} s: the driver blocks the hub"
