"""Collections service entrypoints (nameko): consume bills and payments, run the daily assessment."""
from nameko.rpc import rpc
from nameko.timer import timer

from cis_collections.service_layer import services
from cis_contracts.registry import get as contract
from cis_runtime import config
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, RelayDependency
from cis_runtime.errors import InvalidInput

BILL_ISSUED = "billing.bill_issued.v1"
PAYMENT_POSTED = "billing.payment_posted.v1"


class Service(BusinessClockRpc):
    name = "collections"
    db = Database()
    outbox = RelayDependency()

    @reliable_handler(BILL_ISSUED)
    def on_bill_issued(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_bill_issued", BILL_ISSUED):
                return
            services.record_bill(uow, payload)
            uow.commit()

    @reliable_handler(PAYMENT_POSTED)
    def on_payment_posted(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_payment_posted", PAYMENT_POSTED):
                return
            services.record_payment(uow, payload)
            uow.commit()

    # The poll only checks whether today's run exists; the run itself happens once per business date.
    @timer(interval=float(config.env("CIS_COLLECTIONS_POLL_SECONDS", "60")))
    def daily_run_when_due(self):
        with self.db() as uow:
            if services.has_run_for_today(uow):
                return
        with self.db() as uow:
            services.run_daily(uow)

    @rpc
    def run_daily(self):
        with self.db() as uow:
            return contract("collections.daily_run.v1").schema().dump(services.run_daily(uow))

    @rpc
    def account_status(self, account_id):
        if not isinstance(account_id, str) or not account_id:
            raise InvalidInput({"account_id": ["Give the account id as a non-empty string."]})
        with self.db() as uow:
            return contract("collections.account_status.v1").schema().dump(services.account_status(uow, account_id))
