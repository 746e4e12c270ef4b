"""Insert many rows with ONE statement and ONE parameter: the rows as a JSON array of arrays,
which PostgreSQL unpacks with jsonb_array_elements.

A multi-row INSERT makes PostgreSQL parse and plan one constant per value, and psycopg2 sends a
list as an ARRAY[...] of constants; COPY is cheap but psycopg2 refuses it under eventlet's wait
callback, so it would block the whole service while PostgreSQL ingests. One JSON text is encoded
by the C encoder, parsed by PostgreSQL in C, and the query waits cooperatively like any other.
Arrays rather than objects: half the bytes, and a 2,000-row chunk goes in ~40% faster.
"""
import json
from typing import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

JSON_TYPES = ("json", "jsonb")


def insert_rows(session: Session, table: str, columns: dict[str, str], rows: Iterable[Sequence]) -> int:
    """Insert `rows` (tuples in the order of `columns`, which maps each column to its PostgreSQL
    type) into `table` in the session's transaction; returns how many were inserted. Decimals,
    dates and UUIDs travel as their text; dicts and lists as JSON."""
    rows = list(rows)
    if not rows:
        return 0
    return session.execute(_statement(table, tuple(columns.items())),
                           {"rows": json.dumps(rows, default=str, separators=(",", ":"),
                                               check_circular=False)}).rowcount  # rows are trees


def _statement(table: str, columns: tuple[tuple[str, str], ...]) -> sa.TextClause:
    values = ", ".join(f"cast(r->{n} as {pg_type})" if pg_type in JSON_TYPES else f"cast(r->>{n} as {pg_type})"
                       for n, (_, pg_type) in enumerate(columns))
    return sa.text(f"insert into {table} ({', '.join(name for name, _ in columns)}) "
                   f"select {values} from jsonb_array_elements(cast(:rows as jsonb)) as r")
