"""RPC every service with a database offers for its business clock."""
from nameko.rpc import rpc

from cis_runtime.clock import BusinessClock
from cis_runtime.validation import load_request


class BusinessClockRpc:
    """Mixin for service classes that have `db = Database()`."""

    @rpc
    def set_business_date(self, business_date: str | None) -> str:
        """platform.set_business_date_request.v1's field, passed bare: a YYYY-MM-DD string in the District's
        calendar, or null (follow the wall clock); a number or a list is refused naming the field."""
        request = load_request("platform.set_business_date_request.v1", {"business_date": business_date})
        value = request["business_date"]
        with self.db() as uow:
            BusinessClock(uow.session).set(value)
            uow.commit()
            return uow.today().isoformat()

    @rpc
    def get_business_date(self) -> str:
        with self.db() as uow:
            return uow.today().isoformat()
