"""Helpers shared by the end-to-end tests."""
import time

import sqlalchemy as sa

from cis_runtime import config


def query(service: str, sql: str, **params):
    """Read a service's own database (assertions only; the services own their data)."""
    engine = sa.create_engine(config.database_url(service))
    try:
        with engine.connect() as db:
            return db.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def on_day(api, day) -> dict:
    """Every service's clock to `day`, then collections' daily run for it, asked again until no account
    is deferred (collections defers an account whose billing events it has not all applied yet; the
    District's scheduler asks again the same way, runtime/cis_runtime/demo.py)."""
    api("PUT", "/business-date", {"business_date": day.isoformat()})
    deadline = time.monotonic() + 30
    while True:
        run = api("POST", "/collections/daily-run")
        if not run["accounts_deferred"] or time.monotonic() > deadline:
            return run
        time.sleep(0.5)
