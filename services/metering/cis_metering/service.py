"""Metering service entrypoints (nameko): validate with the contract, run the use case, dump the result."""
from nameko.rpc import rpc

from cis_contracts.registry import get as contract
from cis_metering.service_layer import services
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database
from cis_runtime.topology import AMI_EXCHANGE
from cis_runtime.validation import load_request

ACCOUNT_OPENED = "accounts.account_opened.v1"
AMI_READS = "metering.ami_register_reads.v1"


class Service(BusinessClockRpc):
    """Metering publishes no events (so no outbox relay): billing asks it for consumption by RPC."""
    name = "metering"
    db = Database()

    @rpc
    def register_meter(self, request):
        with self.db() as uow:
            result = services.register_meter(uow, load_request("metering.register_meter_request.v1", request))
        return contract("metering.meter.v1").schema().dump(result)

    @rpc
    def install_meter(self, request):
        with self.db() as uow:
            result = services.install_meter(uow, load_request("metering.install_meter_request.v1", request))
        return contract("metering.installation.v1").schema().dump(result)

    @rpc
    def get_consumption(self, request):
        with self.db() as uow:
            result = services.get_consumption(uow, load_request("metering.consumption_request.v1", request))
        return contract("metering.consumption_response.v1").schema().dump(result)

    @rpc
    def account_meter_reads(self, account_id):
        with self.db() as uow:
            return contract("metering.account_reads.v1").schema().dump(services.account_meter_reads(uow, account_id))

    @reliable_handler(ACCOUNT_OPENED)
    def on_account_opened(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_account_opened", ACCOUNT_OPENED):
                return
            services.record_account_opened(uow, payload)

    @reliable_handler(AMI_READS, exchange=AMI_EXCHANGE)
    def on_ami_register_reads(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_ami_register_reads", AMI_READS):
                return
            services.ingest_ami_batch(uow, envelope["message_id"], payload)
