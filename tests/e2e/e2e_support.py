"""Helpers shared by the end-to-end tests."""
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
