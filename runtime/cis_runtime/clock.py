"""The business clock: the date every rule uses.

Rules never read the wall clock; they ask a BusinessClock. Tests and the demo set the
date (each service keeps it in its own `business_clock` row, set through RPC);
production leaves it unset and the clock follows the District's local date.
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

DISTRICT_ZONE = ZoneInfo("America/Los_Angeles")


def wall_today() -> date:
    return datetime.now(DISTRICT_ZONE).date()


class BusinessClock:
    def __init__(self, connection_or_session):
        self._db = connection_or_session

    def today(self) -> date:
        stored = self._db.execute(sa.text("select business_date from business_clock where id = 1")).scalar()
        return stored or wall_today()

    def set(self, business_date: date | None) -> None:
        """Set the business date (None: follow the wall clock)."""
        self._db.execute(sa.text(
            "insert into business_clock (id, business_date) values (1, :d) "
            "on conflict (id) do update set business_date = excluded.business_date"), {"d": business_date})
