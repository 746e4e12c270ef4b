"""Accounts service entrypoints (nameko): validate with the contract, run the use case, dump the result."""
from nameko.rpc import rpc

from cis_accounts.service_layer import search, services
from cis_contracts.registry import get as contract
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.dependencies import Database, RelayDependency
from cis_runtime.validation import load_id, load_request


class Service(BusinessClockRpc):
    name = "accounts"
    db = Database()
    outbox = RelayDependency()

    @rpc
    def create_customer(self, request):
        with self.db() as uow:
            result = services.create_customer(uow, load_request("accounts.create_customer_request.v1", request))
        return contract("accounts.customer.v1").schema().dump(result)

    @rpc
    def create_parcel(self, request):
        with self.db() as uow:
            result = services.create_parcel(uow, load_request("accounts.create_parcel_request.v1", request))
        return contract("accounts.parcel.v1").schema().dump(result)

    @rpc
    def authorize_connection(self, request):
        with self.db() as uow:
            result = services.authorize_connection(
                uow, load_request("accounts.authorize_connection_request.v1", request))
        return contract("accounts.connection.v1").schema().dump(result)

    @rpc
    def open_account(self, request):
        with self.db() as uow:
            result = services.open_account(uow, load_request("accounts.open_account_request.v1", request))
        return contract("accounts.account.v1").schema().dump(result)

    @rpc
    def get_account(self, account_id):
        with self.db() as uow:
            return contract("accounts.account.v1").schema().dump(
                services.get_account(uow, load_id("account_id", account_id)))

    @rpc
    def change_account_attributes(self, request):
        with self.db() as uow:
            result = services.change_account_attributes(
                uow, load_request("accounts.change_account_attributes_request.v1", request))
        return contract("accounts.account_attributes.v1").schema().dump(result)

    @rpc
    def get_account_attributes(self, account_id):
        with self.db() as uow:
            return contract("accounts.account_attributes.v1").schema().dump(
                services.get_account_attributes(uow, load_id("account_id", account_id)))

    @rpc
    def close_account(self, request):
        with self.db() as uow:
            result = services.close_account(uow, load_request("accounts.close_account_request.v2", request))
        return contract("accounts.account.v1").schema().dump(result)

    @rpc
    def set_bill_delivery(self, request):
        with self.db() as uow:
            result = services.set_bill_delivery(uow, load_request("accounts.set_bill_delivery_request.v1", request))
        return contract("accounts.bill_delivery.v1").schema().dump(result)

    @rpc
    def get_bill_delivery(self, account_id):
        with self.db() as uow:
            return contract("accounts.bill_delivery.v1").schema().dump(
                services.get_bill_delivery(uow, load_id("account_id", account_id)))

    @rpc
    def list_accounts(self):
        with self.db() as uow:
            return services.list_accounts(uow)

    @rpc
    def search_accounts(self, request):
        with self.db() as uow:
            result = search.search_accounts(uow, load_request("accounts.search_accounts_request.v1", request))
        return contract("accounts.account_search.v1").schema().dump(result)
