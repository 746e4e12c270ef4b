"""PostgreSQL advisory locks: one worker at a time on a piece of work, across processes."""
import zlib
from contextlib import contextmanager

import sqlalchemy as sa


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
