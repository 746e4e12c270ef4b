"""Metering service entrypoints (nameko): validate with the contract, run the use case, dump the result."""
from nameko.rpc import rpc

from cis_contracts.dumper import dumper
from cis_contracts.registry import get as contract
from cis_metering.service_layer import billing_determinants, imports, inventory, manual_reads, services, worklist
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, RelayDependency
from cis_runtime.topology import AMI_EXCHANGE
from cis_runtime.validation import load_id, load_request

ACCOUNT_OPENED = "accounts.account_opened.v1"
ACCOUNT_CLOSED = "accounts.account_closed.v1"
AMI_READS = "metering.ami_register_reads.v1"
AMI_INTERVAL_READS = "metering.ami_interval_reads.v1"


class Service(BusinessClockRpc):
    """Billing asks metering for consumption by RPC; metering's events (work orders, leak and backflow
    alerts) leave through its outbox."""
    name = "metering"
    db = Database()
    outbox = RelayDependency()

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
    def import_reads_file(self, request):
        request = load_request("metering.import_reads_file_request.v1", request)
        with self.db() as uow:
            report = imports.import_reads_file(uow, request["file_format"], request["file_name"],
                                               request["content"].encode("utf-8"))
        return contract("metering.reads_file_import.v1").schema().dump(report)

    @rpc
    def list_read_exceptions(self, request):
        with self.db() as uow:
            result = worklist.list_read_exceptions(uow, load_request("metering.list_read_exceptions_request.v1",
                                                                     request))
        return contract("metering.read_exceptions.v1").schema().dump(result)

    @rpc
    def resolve_read_exception(self, request):
        with self.db() as uow:
            result = worklist.resolve_read_exception(
                uow, load_request("metering.resolve_read_exception_request.v1", request))
        return contract("metering.read_exception_resolution.v1").schema().dump(result)

    @rpc
    def enter_manual_read(self, request):
        with self.db() as uow:
            result = manual_reads.enter_manual_read(uow, load_request("metering.enter_manual_read_request.v1",
                                                                      request))
        return contract("metering.manual_read.v1").schema().dump(result)

    @rpc
    def exchange_meter(self, request):
        with self.db() as uow:
            result = services.exchange_meter(uow, load_request("metering.exchange_meter_request.v1", request))
        return contract("metering.meter_exchange.v1").schema().dump(result)

    @rpc
    def update_meter(self, request):
        with self.db() as uow:
            result = inventory.update_meter(uow, load_request("metering.update_meter_request.v1", request))
        return contract("metering.meter_record.v1").schema().dump(result)

    @rpc
    def record_meter_test(self, request):
        with self.db() as uow:
            result = inventory.record_meter_test(uow, load_request("metering.record_meter_test_request.v1", request))
        return contract("metering.meter_record.v1").schema().dump(result)

    @rpc
    def agency_deliveries(self, request):
        request = load_request("metering.agency_deliveries_request.v1", request)
        with self.db() as uow:
            result = inventory.agency_deliveries(uow, request["month"])
        return contract("metering.agency_deliveries.v1").schema().dump(result)

    @rpc
    def get_consumption(self, request):
        with self.db() as uow:
            result = services.get_consumption(uow, load_request("metering.consumption_request.v1", request))
        return dumper("metering.consumption_response.v1")(result)  # compiled: 10,000 determinants a call

    @rpc
    def get_determinants(self, request):
        with self.db() as uow:
            result = services.get_determinants(uow, load_request("metering.consumption_request.v2", request))
        return contract("metering.consumption_response.v2").schema().dump(result)

    @rpc
    def billing_determinants(self, request):
        with self.db() as uow:
            result = billing_determinants.get_billing_determinants(
                uow, load_request("metering.consumption_request.v3", request))
        return dumper("metering.consumption_response.v3")(result)  # compiled: 10,000 determinants a call

    @rpc
    def find_meters(self, request):
        with self.db() as uow:
            result = inventory.find_meters(uow, load_request("metering.find_meters_request.v1", request))
        return contract("metering.meter_matches.v1").schema().dump(result)

    @rpc
    def account_meter_reads(self, account_id):
        with self.db() as uow:
            return contract("metering.account_reads.v1").schema().dump(
                services.account_meter_reads(uow, load_id("account_id", account_id)))

    @rpc
    def account_meter_reads_v2(self, account_id):
        with self.db() as uow:
            return contract("metering.account_reads.v2").schema().dump(services.account_meter_reads(uow, account_id))

    @rpc
    def account_meter_reads_v3(self, account_id):
        with self.db() as uow:
            return contract("metering.account_reads.v3").schema().dump(
                services.account_meter_reads(uow, load_id("account_id", account_id)))

    @reliable_handler(ACCOUNT_OPENED)
    def on_account_opened(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_account_opened", ACCOUNT_OPENED):
                return
            services.record_account_opened(uow, payload)

    @reliable_handler(ACCOUNT_CLOSED)
    def on_account_closed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_account_closed", ACCOUNT_CLOSED):
                return
            services.record_account_closed(uow, payload)

    @reliable_handler(AMI_READS, exchange=AMI_EXCHANGE)
    def on_ami_register_reads(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_ami_register_reads", AMI_READS):
                return
            services.ingest_ami_batch(uow, envelope["message_id"], payload)

    @reliable_handler(AMI_INTERVAL_READS, exchange=AMI_EXCHANGE)
    def on_ami_interval_reads(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "metering.on_ami_interval_reads", AMI_INTERVAL_READS):
                return
            services.ingest_interval_batch(uow, envelope["message_id"], payload)
