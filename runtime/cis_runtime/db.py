"""Engines, databases and migrations."""
import importlib
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cis_runtime import config


def make_engine(url: str, pool_size: int = 10) -> sa.Engine:
    # hide_parameters: a database error names the statement, never the account, amount or note it carried
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                            hide_parameters=True, future=True)


def create_database(url: str) -> bool:
    """Create the database named in `url` if it is missing; True when created."""
    target = make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(sa.text("select 1 from pg_database where datname = :n"),
                                   {"n": target.database})
        if not exists:
            connection.execute(sa.text(f'create database "{target.database}"'))
    server.dispose()
    return not exists


def drop_database(url: str) -> None:
    target = make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'drop database if exists "{target.database}" with (force)'))
    server.dispose()


def upgrade(service: str, url: str | None = None) -> None:
    """Apply the service's Alembic migrations to head."""
    from alembic import command
    from alembic.config import Config

    package = importlib.import_module(f"cis_{service}")
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    alembic_config.set_main_option("sqlalchemy.url", (url or config.database_url(service)).replace("%", "%%"))
    command.upgrade(alembic_config, "head")


def prepare_database(service: str, url: str | None = None) -> None:
    url = url or config.database_url(service)
    create_database(url)
    upgrade(service, url)
