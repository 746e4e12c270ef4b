"""RPC every service with a database offers for its business clock."""
from datetime import date

from nameko.rpc import rpc

from cis_runtime.clock import BusinessClock
from cis_runtime.errors import InvalidInput


class BusinessClockRpc:
    """Mixin for service classes that have `db = Database()`."""

    @rpc
    def set_business_date(self, business_date: str | None) -> str:
        try:
            value = date.fromisoformat(business_date) if business_date else None
        except ValueError:
            raise InvalidInput({"business_date": ["Not a valid ISO date (YYYY-MM-DD)."]})
        with self.db() as uow:
            BusinessClock(uow.session).set(value)
            uow.commit()
            return uow.today().isoformat()

    @rpc
    def get_business_date(self) -> str:
        with self.db() as uow:
            return uow.today().isoformat()
