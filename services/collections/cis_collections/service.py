"""Collections service entrypoints (nameko): consume accounts, bills and payments, run the daily engine,
record staff decisions (appeals, extensions, certifications, plans, contact attempts)."""
from datetime import date

from nameko.rpc import rpc
from nameko.timer import timer

from cis_collections.service_layer import parcels, services
from cis_contracts.operations import OPERATIONS_EXCHANGE
from cis_contracts.registry import get as contract
from cis_runtime import config
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, RelayDependency, TimedRpcProxy
from cis_runtime.errors import InvalidInput
from cis_runtime.validation import load_id, load_request

STATUS = "collections.collections_status.v1"

ACCOUNT_OPENED = "accounts.account_opened.v1"
BILL_ISSUED = "billing.bill_issued.v1"
PAYMENT_POSTED = "billing.payment_posted.v1"
ADJUSTMENT_POSTED = "billing.adjustment_posted.v1"
NOTICE_DISPATCHED = "notifications.notice_dispatched.v1"
BILL_DELIVERED = "notifications.bill_delivered.v1"
ACCOUNT_CLOSED = "accounts.account_closed.v2"
WORK_ORDER_COMPLETED = "operations.work_order_completed.v1"


class Service(BusinessClockRpc):
    name = "collections"
    db = Database()
    outbox = RelayDependency()
    billing = TimedRpcProxy("billing")  # billing.ledger_positions: is collections' view of a ledger current?

    @reliable_handler(ACCOUNT_OPENED)
    def on_account_opened(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_account_opened", ACCOUNT_OPENED):
                return
            services.record_account_opened(uow, payload)
            uow.commit()

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

    @reliable_handler(ADJUSTMENT_POSTED)
    def on_adjustment_posted(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_adjustment_posted", ADJUSTMENT_POSTED):
                return
            services.record_adjustment(uow, payload)
            uow.commit()

    @reliable_handler(BILL_DELIVERED)
    def on_bill_delivered(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_bill_delivered", BILL_DELIVERED):
                return
            services.record_bill_delivered(uow, payload)
            uow.commit()

    @reliable_handler(ACCOUNT_CLOSED)
    def on_account_closed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_account_closed", ACCOUNT_CLOSED):
                return
            services.record_account_closed(uow, payload)
            uow.commit()

    @reliable_handler(NOTICE_DISPATCHED)
    def on_notice_dispatched(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_notice_dispatched", NOTICE_DISPATCHED):
                return
            services.record_notice_dispatched(uow, payload)
            uow.commit()

    @reliable_handler(WORK_ORDER_COMPLETED, exchange=OPERATIONS_EXCHANGE)
    def on_work_order_completed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "collections.on_work_order_completed",
                                      WORK_ORDER_COMPLETED):
                return
            services.record_work_order_completed(uow, payload)
            uow.commit()

    # The poll starts the first run of a business date; staff (run_daily) may run it again the same day.
    @timer(interval=float(config.env("CIS_COLLECTIONS_POLL_SECONDS", "60")))
    def daily_run_when_due(self):
        with self.db() as uow:
            if services.has_run_for_today(uow):
                return
        with self.db() as uow:
            services.run_daily(uow, self.billing.ledger_positions)

    @rpc
    def run_daily(self):
        with self.db() as uow:
            return contract("collections.daily_run.v2").schema().dump(
                services.run_daily(uow, self.billing.ledger_positions))

    @rpc
    def account_status(self, account_id):
        _check_account_id(account_id)
        with self.db() as uow:
            return contract("collections.account_status.v1").schema().dump(services.account_status(uow, account_id))

    # --- the California collections timeline (staff) ---------------------------------------------

    @rpc
    def collections_status(self, account_id):
        _check_account_id(account_id)
        with self.db() as uow:
            return contract(STATUS).schema().dump(services.collections_status(uow, account_id))

    @rpc
    def worklist(self, business_date=None):
        day = _business_date(business_date)
        with self.db() as uow:
            return contract("collections.worklist.v1").schema().dump(services.worklist(uow, day))

    @rpc
    def worklist_v2(self, business_date=None):
        day = _business_date(business_date)
        with self.db() as uow:
            return contract("collections.worklist.v2").schema().dump(services.worklist_by_account(uow, day))

    @rpc
    def record_appeal(self, request):
        return self._staff_change("collections.record_appeal_request.v2", request, services.record_appeal)

    @rpc
    def grant_extension(self, request):
        return self._staff_change("collections.grant_extension_request.v2", request, services.grant_extension)

    @rpc
    def record_medical_certification(self, request):
        return self._staff_change("collections.record_medical_certification_request.v1", request,
                                  services.record_medical_certification)

    @rpc
    def agree_payment_plan(self, request):
        return self._staff_change("collections.agree_payment_plan_request.v2", request, services.agree_payment_plan)

    @rpc
    def record_contact_attempt(self, request):
        return self._staff_change("collections.record_contact_attempt_request.v1", request,
                                  services.record_contact_attempt)

    @rpc
    def set_account_flags(self, request):
        return self._staff_change("collections.set_account_flags_request.v1", request, services.set_account_flags)

    @rpc
    def discontinuation_count(self, year):
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidInput({"year": ["Give the calendar year as a number, e.g. 2026."]})
        with self.db() as uow:
            return contract("collections.discontinuation_count.v1").schema().dump(
                {"year": year, "residential_discontinuations_for_nonpayment": services.annual_discontinuation_count(
                    uow, year)})

    # --- liens and the tax roll -------------------------------------------------------------------

    @rpc
    def record_liens(self, request):
        command = load_request("collections.record_liens_request.v1", request)
        with self.db() as uow:
            result = parcels.record_liens(uow, command)
            uow.commit()
            return contract("collections.liens.v1").schema().dump(result)

    @rpc
    def prepare_delinquent_list(self, request):
        return self._tax_roll(parcels.prepare_delinquent_list,
                              load_request("collections.prepare_delinquent_list_request.v1", request))

    @rpc
    def delinquent_list_step(self, request):
        return self._tax_roll(parcels.delinquent_list_step,
                              load_request("collections.delinquent_list_step_request.v1", request))

    @rpc
    def delinquent_list(self, tax_year):
        if not isinstance(tax_year, int):
            raise InvalidInput({"tax_year": ["Give the tax year as a number, e.g. 2026."]})
        with self.db() as uow:
            return contract("collections.delinquent_list.v1").schema().dump(parcels.get_delinquent_list(uow, tax_year))

    def _tax_roll(self, use_case, command):
        with self.db() as uow:
            result = use_case(uow, command)
            uow.commit()
            return contract("collections.delinquent_list.v1").schema().dump(result)

    def _staff_change(self, request_contract, request, use_case):
        command = load_request(request_contract, request)
        with self.db() as uow:
            status = use_case(uow, command)
            uow.commit()
            return contract(STATUS).schema().dump(status)


def _check_account_id(account_id):
    load_id("account_id", account_id)  # a NUL or a megabyte-long id is refused naming the field


def _business_date(business_date) -> date | None:
    try:
        return date.fromisoformat(business_date) if business_date else None
    except (TypeError, ValueError):
        raise InvalidInput({"business_date": ["Give the date as YYYY-MM-DD."]}) from None
