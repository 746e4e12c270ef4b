"""Gateway entrypoints (nameko @http): the staff pages and the JSON API, forwarding to the services by RPC.

The gateway owns no data: request bodies go to the services as they came, the services validate
them against their contracts, and cis_gateway.errors turns what they raise into HTTP.
"""
from cis_gateway import pages
from cis_gateway.entrypoints import api, html_response, json_response, page, read_json
from cis_gateway.fanout import call_all, values_or_raise
from cis_runtime import config
from cis_runtime.edge import remote_errors  # noqa: F401  (domain errors cross RPC as themselves)
from cis_runtime.edge.dependencies import TimedRpcProxy
from cis_runtime.errors import InvalidInput, NotFound

CREATED = 201


def body_with(request, **path_values):
    """The JSON body with the ids from the URL path added (a non-object body is passed on as is,
    for the contract to reject with a field message)."""
    body = read_json(request)
    return {**body, **path_values} if isinstance(body, dict) else body
SERVICES_WITH_CLOCK = ("accounts", "metering", "billing", "collections", "notifications")


class Service:
    name = "gateway"

    accounts = TimedRpcProxy("accounts")
    metering = TimedRpcProxy("metering")
    billing = TimedRpcProxy("billing")
    collections = TimedRpcProxy("collections")
    notifications = TimedRpcProxy("notifications")

    # --- health -------------------------------------------------------------------------

    @api("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

    # --- accounts -------------------------------------------------------------------------

    @api("POST", "/api/customers")
    def create_customer(self, request):
        return json_response(self.accounts.create_customer(read_json(request)), CREATED)

    @api("POST", "/api/parcels")
    def create_parcel(self, request):
        return json_response(self.accounts.create_parcel(read_json(request)), CREATED)

    @api("POST", "/api/connections")
    def authorize_connection(self, request):
        return json_response(self.accounts.authorize_connection(read_json(request)), CREATED)

    @api("POST", "/api/accounts")
    def open_account(self, request):
        return json_response(self.accounts.open_account(read_json(request)), CREATED)

    @api("GET", "/api/accounts")
    def list_accounts(self, request):
        return json_response(self.accounts.list_accounts())

    @api("GET", "/api/accounts/<account_id>")
    def get_account(self, request, account_id):
        return json_response(self.accounts.get_account(account_id))

    @api("GET", "/api/accounts/<account_id>/attributes")
    def get_account_attributes(self, request, account_id):
        return json_response(self.accounts.get_account_attributes(account_id))

    @api("PATCH", "/api/accounts/<account_id>/attributes")
    def change_account_attributes(self, request, account_id):
        """Residents, landscape area, budget variance (with its reason), fire line size, dwelling units."""
        return json_response(self.accounts.change_account_attributes(body_with(request, account_id=account_id)))

    @api("POST", "/api/accounts/<account_id>/closing")
    def close_account(self, request, account_id):
        """Move-out (accounts.close_account_request.v2): {"closed_on", "reason", "final_read_requested",
        "forwarding_address"}; the forwarding address is where the closing bill and final notices go."""
        return json_response(self.accounts.close_account(body_with(request, account_id=account_id)))

    @api("GET", "/api/accounts/<account_id>/bill-delivery")
    def get_bill_delivery(self, request, account_id):
        """Paper or paperless (accounts.bill_delivery.v1)."""
        return json_response(self.accounts.get_bill_delivery(account_id))

    @api("PUT", "/api/accounts/<account_id>/bill-delivery")
    def set_bill_delivery(self, request, account_id):
        """The customer's choice: {"paperless", "changed_by"} (paperless needs an email address on file)."""
        return json_response(self.accounts.set_bill_delivery(body_with(request, account_id=account_id)))

    # --- metering -------------------------------------------------------------------------

    @api("POST", "/api/meters")
    def register_meter(self, request):
        return json_response(self.metering.register_meter(read_json(request)), CREATED)

    @api("POST", "/api/meters/<serial>/installation")
    def install_meter(self, request, serial):
        return json_response(self.metering.install_meter(body_with(request, serial=serial)), CREATED)

    @api("PATCH", "/api/meters/<serial>")
    def update_meter(self, request, serial):
        return json_response(self.metering.update_meter(body_with(request, serial=serial)))

    @api("POST", "/api/meters/<serial>/tests")
    def record_meter_test(self, request, serial):
        return json_response(self.metering.record_meter_test(body_with(request, serial=serial)), CREATED)

    @api("POST", "/api/meters/<serial>/exchange")
    def exchange_meter(self, request, serial):
        return json_response(self.metering.exchange_meter(body_with(request, old_serial=serial)), CREATED)

    @api("POST", "/api/meters/<serial>/reads")
    def enter_manual_read(self, request, serial):
        """A staff or handheld read, with reader and reason."""
        return json_response(self.metering.enter_manual_read(body_with(request, meter_serial=serial)), CREATED)

    @api("POST", "/api/read-files")
    def import_reads_file(self, request):
        """{"file_format": "beacon"|"generic", "file_name", "content"}: rejected rows come back by line."""
        return json_response(self.metering.import_reads_file(read_json(request)), CREATED)

    @api("GET", "/api/read-exceptions")
    def list_read_exceptions(self, request):
        filters = {key: value for key, value in request.args.items()
                   if key in ("status", "rule", "meter_serial", "after_id", "limit")}
        return json_response(self.metering.list_read_exceptions(filters))

    @api("POST", "/api/read-exceptions/<int:exception_id>/resolution")
    def resolve_read_exception(self, request, exception_id):
        return json_response(self.metering.resolve_read_exception(body_with(request, exception_id=exception_id)))

    @api("GET", "/api/agency-deliveries")
    def agency_deliveries(self, request):
        """Water delivered to other agencies in a month, in acre-feet (?month=YYYY-MM)."""
        return json_response(self.metering.agency_deliveries({"month": request.args.get("month")}))

    @api("GET", "/api/accounts/<account_id>/reads")
    def account_reads(self, request, account_id):
        return json_response(self.metering.account_meter_reads(account_id))

    # --- billing --------------------------------------------------------------------------

    @api("POST", "/api/bill-runs")
    def start_bill_run(self, request):
        return json_response(self.billing.start_bill_run(read_json(request)), CREATED)

    @api("GET", "/api/bill-runs/<run_id>")
    def get_bill_run(self, request, run_id):
        return json_response(self.billing.get_bill_run(run_id))

    @api("POST", "/api/payments")
    def post_payment(self, request):
        return json_response(self.billing.post_payment(read_json(request)), CREATED)

    @api("GET", "/api/accounts/<account_id>/statement")
    def account_statement(self, request, account_id):
        """billing.account_statement.v2: bills with each line's explanation, payments, adjustments."""
        return json_response(self.billing.account_statement_v2(account_id))

    @api("POST", "/api/accounts/<account_id>/adjustments")
    def post_adjustment(self, request, account_id):
        """A staff credit or debit: {"kind", "amount", "reason_code", "note", "posted_by"}."""
        return json_response(self.billing.post_adjustment(body_with(request, account_id=account_id)), CREATED)

    @api("POST", "/api/tariffs")
    def load_tariff(self, request):
        """Load a board-adopted tariff version: {"document": {...}} (errors name document.<path>)."""
        return json_response(self.billing.load_tariff(read_json(request)), CREATED)

    @api("GET", "/api/tariffs")
    def tariff_history(self, request):
        return json_response(self.billing.tariff_history())

    @api("POST", "/api/tariffs/bill-impact")
    def bill_impact(self, request):
        """Prop 218: {"document": proposed tariff} -> the change per customer class and meter size (not stored)."""
        return json_response(self.billing.bill_impact(read_json(request)))

    @api("POST", "/api/bill-previews")
    def preview_bill(self, request):
        """What an account (or a class and meter size) would pay for a given consumption."""
        return json_response(self.billing.preview_bill(read_json(request)))

    # --- collections and notifications ----------------------------------------------------

    @api("GET", "/api/accounts/<account_id>/collections")
    def collections_status(self, request, account_id):
        return json_response(self.collections.account_status(account_id))

    @api("POST", "/api/collections/daily-run")
    def run_collections(self, request):
        """collections.daily_run.v2 as collections answers it: may run again the same business date."""
        return json_response(self.collections.run_daily())

    @api("GET", "/api/accounts/<account_id>/collections/timeline")
    def collections_timeline(self, request, account_id):
        """What is due for the account, when, under which statute, and what blocks it."""
        return json_response(self.collections.collections_status(account_id))

    @api("GET", "/api/collections/worklist")
    def collections_worklist(self, request):
        return json_response(self.collections.worklist(request.args.get("date")))

    @api("GET", "/api/collections/worklist/by-account")
    def collections_worklist_by_account(self, request):
        return json_response(self.collections.worklist_v2(request.args.get("date")))

    @api("POST", "/api/accounts/<account_id>/appeals")
    def record_appeal(self, request, account_id):
        return json_response(self.collections.record_appeal(body_with(request, account_id=account_id)), CREATED)

    @api("POST", "/api/accounts/<account_id>/extensions")
    def grant_extension(self, request, account_id):
        return json_response(self.collections.grant_extension(body_with(request, account_id=account_id)), CREATED)

    @api("POST", "/api/accounts/<account_id>/medical-certifications")
    def record_medical_certification(self, request, account_id):
        return json_response(self.collections.record_medical_certification(
            body_with(request, account_id=account_id)), CREATED)

    @api("POST", "/api/accounts/<account_id>/payment-plans")
    def agree_payment_plan(self, request, account_id):
        return json_response(self.collections.agree_payment_plan(body_with(request, account_id=account_id)),
                             CREATED)

    @api("POST", "/api/accounts/<account_id>/contact-attempts")
    def record_contact_attempt(self, request, account_id):
        return json_response(self.collections.record_contact_attempt(body_with(request, account_id=account_id)),
                             CREATED)

    @api("PUT", "/api/accounts/<account_id>/collections/flags")
    def set_collections_flags(self, request, account_id):
        """Staff flags: tenant-occupied rental (H&S 116916), low-income status with its evidence (H&S 116914(b))."""
        return json_response(self.collections.set_account_flags(body_with(request, account_id=account_id)))

    @api("GET", "/api/collections/discontinuations/<int:year>")
    def discontinuation_count(self, request, year):
        return json_response(self.collections.discontinuation_count(year))

    @api("POST", "/api/collections/liens")
    def record_liens(self, request):
        return json_response(self.collections.record_liens(read_json(request)), CREATED)

    @api("POST", "/api/collections/delinquent-lists")
    def prepare_delinquent_list(self, request):
        return json_response(self.collections.prepare_delinquent_list(read_json(request)), CREATED)

    @api("POST", "/api/collections/delinquent-lists/steps")
    def delinquent_list_step(self, request):
        return json_response(self.collections.delinquent_list_step(read_json(request)))

    @api("GET", "/api/collections/delinquent-lists/<int:tax_year>")
    def delinquent_list(self, request, tax_year):
        return json_response(self.collections.delinquent_list(tax_year))

    @api("GET", "/api/accounts/<account_id>/notices")
    def account_notices(self, request, account_id):
        """Bills and notices sent (notifications.deliveries.v2: v1 plus channel, business date, reference)."""
        return json_response(self.notifications.list_deliveries_v2(account_id))

    # --- business clock -------------------------------------------------------------------

    @api("GET", "/api/business-date")
    def get_business_date(self, request):
        return json_response({"business_date": self.billing.get_business_date()})

    @api("PUT", "/api/business-date")
    def set_business_date(self, request):
        """Sets every service's clock at once; the services validate the date themselves."""
        body = read_json(request)
        business_date = body.get("business_date") if isinstance(body, dict) else body
        calls = {name: (getattr(self, name).set_business_date, business_date) for name in SERVICES_WITH_CLOCK}
        dates = values_or_raise(call_all(calls, config.rpc_timeout_seconds()))
        return json_response({"business_date": dates["billing"], "services": dates})

    # --- staff pages ----------------------------------------------------------------------

    @page("GET", "/")
    def index_page(self, request):
        outcomes = call_all({"accounts": (self.accounts.list_accounts,),
                             "business_date": (self.billing.get_business_date,)},
                            config.rpc_timeout_seconds())
        sections = {name: pages.Section.from_outcome(outcome) for name, outcome in outcomes.items()}
        return html_response(pages.render_index(sections["accounts"], sections["business_date"]))

    @page("GET", "/accounts/<account_id>")
    def account_page(self, request, account_id):
        outcomes = call_all({
            "account": (self.accounts.get_account, account_id),
            "bill_delivery": (self.accounts.get_bill_delivery, account_id),
            "reads": (self.metering.account_meter_reads, account_id),
            "statement": (self.billing.account_statement_v2, account_id),
            "business_date": (self.billing.get_business_date,),  # what the balance is as of
            "collections": (self.collections.account_status, account_id),
            "collections_date": (self.collections.get_business_date,),  # what the past due is as of
            "notices": (self.notifications.list_deliveries_v2, account_id),
        }, config.rpc_timeout_seconds())
        if isinstance(outcomes["account"].error, NotFound):
            raise outcomes["account"].error  # the error table renders the 404 page
        sections = {name: pages.Section.from_outcome(outcome) for name, outcome in outcomes.items()}
        return html_response(pages.render_account(account_id, sections))

    @page("GET", "/collections/worklist")
    def collections_worklist_page(self, request):
        """What collections staff do today: each account's due actions with the rule and its section, and what
        blocks a shutoff. ?date=YYYY-MM-DD shows another day."""
        outcomes = call_all({"worklist": (self.collections.worklist_v2, request.args.get("date") or None),
                             "business_date": (self.billing.get_business_date,)},
                            config.rpc_timeout_seconds())
        if isinstance(outcomes["worklist"].error, InvalidInput):
            raise outcomes["worklist"].error  # a bad ?date= renders the 400 page naming the field
        sections = {name: pages.Section.from_outcome(outcome) for name, outcome in outcomes.items()}
        return html_response(pages.render_collections_worklist(sections["worklist"], sections["business_date"]))
