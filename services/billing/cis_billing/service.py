"""Billing service entrypoints (nameko): validate with the contract, run the use case, dump the result."""
import logging

from nameko.rpc import rpc
from nameko.timer import timer

from cis_billing.service_layer import (accounts_view, adjustments, bill_runs, reports, services, statements,
                                      tariffs)
from cis_contracts.registry import get as contract
from cis_runtime import config
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, RelayDependency, TimedRpcProxy
from cis_runtime.validation import load_id, load_request

log = logging.getLogger(__name__)

BILL_RUN_POLL_SECONDS = float(config.env("CIS_BILL_RUN_POLL_SECONDS", "1"))


class Service(BusinessClockRpc):
    name = "billing"
    db = Database()
    outbox = RelayDependency()
    metering = TimedRpcProxy("metering")

    @reliable_handler("accounts.account_opened.v1")
    def on_account_opened(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "billing.on_account_opened",
                                      "accounts.account_opened.v1"):
                return
            services.record_account_opened(uow, payload)
            uow.commit()

    @reliable_handler("accounts.account_attributes_changed.v1")
    def on_account_attributes_changed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "billing.on_account_attributes_changed",
                                      "accounts.account_attributes_changed.v1"):
                return
            accounts_view.record_attributes_changed(uow, payload)
            uow.commit()

    @reliable_handler("accounts.account_closed.v1")
    def on_account_closed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "billing.on_account_closed",
                                      "accounts.account_closed.v1"):
                return
            accounts_view.record_account_closed(uow, payload)
            uow.commit()

    @reliable_handler("collections.late_penalty_requested.v1")
    def on_late_penalty_requested(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "billing.on_late_penalty_requested",
                                      "collections.late_penalty_requested.v1"):
                return
            adjustments.assess_late_penalty(uow, payload)
            uow.commit()

    @reliable_handler("collections.fee_assessed.v1")
    def on_fee_assessed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "billing.on_fee_assessed",
                                      "collections.fee_assessed.v1"):
                return
            adjustments.post_assessed_fee(uow, payload)
            uow.commit()

    @rpc
    def start_bill_run(self, request):
        with self.db() as uow:
            result = bill_runs.start_bill_run(uow, load_request("billing.start_bill_run_request.v1", request))
        return contract("billing.bill_run.v1").schema().dump(result)

    @rpc
    def get_bill_run(self, run_id):
        with self.db() as uow:
            return contract("billing.bill_run.v1").schema().dump(bill_runs.get_bill_run(uow, load_id("run_id", run_id)))

    @rpc
    def post_payment(self, request):
        with self.db() as uow:
            result = services.post_payment(uow, load_request("billing.post_payment_request.v1", request))
        return contract("billing.payment.v1").schema().dump(result)

    @rpc
    def account_statement(self, account_id):
        with self.db() as uow:
            return contract("billing.account_statement.v1").schema().dump(
                services.account_statement(uow, load_id("account_id", account_id)))

    @rpc
    def ledger_positions(self, request):
        account_ids = load_request("billing.ledger_positions_request.v1", request)["account_ids"]
        with self.db() as uow:
            return contract("billing.ledger_positions.v1").schema().dump(services.ledger_positions(uow, account_ids))

    @rpc
    def account_statement_v2(self, account_id):
        with self.db() as uow:
            return contract("billing.account_statement.v2").schema().dump(
                statements.account_statement_v2(uow, load_id("account_id", account_id)))

    @rpc
    def post_adjustment(self, request):
        with self.db() as uow:
            result = adjustments.post_adjustment(uow, load_request("billing.post_adjustment_request.v1", request))
        return contract("billing.adjustment.v1").schema().dump(result)

    @rpc
    def load_tariff(self, request):
        with self.db() as uow:
            result = tariffs.load_tariff(uow, load_request("billing.load_tariff_request.v1", request)["document"])
        return contract("billing.tariff.v1").schema().dump(result)

    @rpc
    def tariff_history(self):
        with self.db() as uow:
            return contract("billing.tariff_history.v1").schema().dump({"tariffs": tariffs.tariff_history(uow)})

    @rpc
    def preview_bill(self, request):
        with self.db() as uow:
            result = tariffs.preview_bill(uow, load_request("billing.preview_bill_request.v1", request))
        return contract("billing.bill_preview.v1").schema().dump(result)

    @rpc
    def bill_impact(self, request):
        document = load_request("billing.bill_impact_request.v1", request)["document"]
        with self.db() as uow:
            result = reports.bill_impact(uow, document, self.metering.get_consumption)
        return contract("billing.bill_impact.v1").schema().dump(result)

    @timer(interval=BILL_RUN_POLL_SECONDS)
    def execute_bill_runs(self):
        """Carries requested and interrupted bill runs forward (a restart resumes them here). The
        outbox relay waits while a run works, then publishes its bill_issued events."""
        try:
            with self.outbox.held():
                bill_runs.execute_due_bill_runs(self.db, self.metering.billing_determinants)
        except Exception:  # metering down or slow: the run stays open and the next tick retries
            log.exception("bill run execution interrupted; will retry")

    @timer(interval=BILL_RUN_POLL_SECONDS)
    def assess_deferred_penalties(self):
        """Basic late penalties asked inside the bill's grace days are assessed the day after them."""
        try:
            with self.db() as uow:
                if adjustments.assess_deferred_penalties(uow):
                    uow.commit()
        except Exception:  # the database away: the requests wait for the next tick
            log.exception("deferred late penalties not assessed; will retry")
