"""Contracts of the billing service: bill runs, bills and their lines, payments, statements.

Amounts are Money ("64.55"); quantities and rates are Quantity, since a rate may carry more
than two decimal places ("3.6525" per HCF). A line names the tariff rule and the tariff
version ("id@version") that produced it, so every charge can be traced to an adopted rate.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cis_contracts.fields import Money, Quantity, require_positive
from cis_contracts.registry import EVENT, RPC_REQUEST, RPC_RESPONSE, message

BILL_RUN_STATUSES = ("pending", "running", "completed")
PAYMENT_METHODS = ("cash", "check", "ach", "card_token", "lockbox")


class _PeriodSchema(Schema):
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)

    @validates_schema
    def _period_in_order(self, data, **kwargs):
        if data["period_end"] < data["period_start"]:
            raise ValidationError("period_end must not be before period_start.", "period_end")


@message("billing.start_bill_run_request.v1", RPC_REQUEST,
         "Bill every open account of a bill cycle for a service period. Asking again for the same "
         "cycle and period returns the run already started (no second bill).", rpc="billing.start_bill_run")
class StartBillRunRequest(_PeriodSchema):
    cycle = fields.String(required=True, validate=validate.Length(min=1, max=10))


class BillRunExceptionSchema(Schema):
    account_id = fields.String(required=True)
    reason = fields.String(required=True)


@message("billing.bill_run.v1", RPC_RESPONSE,
         "A bill run and its progress; accounts that could not be billed are listed with the reason.",
         rpc="billing.start_bill_run")
class BillRunSchema(_PeriodSchema):
    run_id = fields.String(required=True)
    cycle = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BILL_RUN_STATUSES))
    accounts_total = fields.Integer(required=True)
    bills_issued = fields.Integer(required=True)
    exceptions = fields.List(fields.Nested(BillRunExceptionSchema), required=True)


class BillLineSchema(Schema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1))
    description = fields.String(required=True)
    quantity = Quantity(required=True)
    unit = fields.String(required=True)
    rate = Quantity(required=True)
    amount = Money(required=True)
    rule = fields.String(required=True)
    tariff = fields.String(required=True, validate=validate.Regexp(r"^.+@\d+$", error="Expected tariff_id@version."))


@message("billing.bill_issued.v1", EVENT,
         "A bill was issued to an account: its lines, total, due date and the account balance after it.")
class BillIssued(_PeriodSchema):
    bill_id = fields.String(required=True)
    account_id = fields.String(required=True)
    bill_run_id = fields.String(required=True)
    issued_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    total = Money(required=True)
    balance_due = Money(required=True)
    lines = fields.List(fields.Nested(BillLineSchema), required=True)


@message("billing.post_payment_request.v1", RPC_REQUEST,
         "Post a payment to an account. The same reference and method on one account is posted once "
         "(a replayed bank file is refused).", rpc="billing.post_payment")
class PostPaymentRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1))
    amount = Money(required=True, validate=require_positive)
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    received_on = fields.Date(load_default=None, allow_none=True)


@message("billing.payment.v1", RPC_RESPONSE, "A posted payment and the account balance after it.",
         rpc="billing.post_payment")
class PaymentSchema(Schema):
    payment_id = fields.String(required=True)
    account_id = fields.String(required=True)
    amount = Money(required=True)
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(required=True)
    received_on = fields.Date(required=True)
    balance_after = Money(required=True)


@message("billing.payment_posted.v1", EVENT, "A payment was posted to an account; balance_after may be negative (a credit).")
class PaymentPosted(Schema):
    payment_id = fields.String(required=True)
    account_id = fields.String(required=True)
    amount = Money(required=True)
    received_on = fields.Date(required=True)
    balance_after = Money(required=True)


class StatementBillSchema(_PeriodSchema):
    bill_id = fields.String(required=True)
    issued_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    total = Money(required=True)
    lines = fields.List(fields.Nested(BillLineSchema), required=True)


class StatementPaymentSchema(Schema):
    payment_id = fields.String(required=True)
    amount = Money(required=True)
    method = fields.String(required=True)
    reference = fields.String(required=True)
    received_on = fields.Date(required=True)


@message("billing.account_statement.v1", RPC_RESPONSE,
         "An account's balance with its bills (oldest first) and payments (oldest first).",
         rpc="billing.account_statement")
class AccountStatementSchema(Schema):
    account_id = fields.String(required=True)
    balance = Money(required=True)
    bills = fields.List(fields.Nested(StatementBillSchema), required=True)
    payments = fields.List(fields.Nested(StatementPaymentSchema), required=True)


# --- tariffs and bill previews (issue 3) ----------------------------------------------------

@message("billing.load_tariff_request.v1", RPC_REQUEST,
         "Load an adopted tariff version (the document format is docs/tariffs.md). It is validated whole; "
         "errors name the place (\"document.charges[2].tiers[1].upto\"). The identical document again "
         "changes nothing; a different document under a stored id@version is refused.",
         rpc="billing.load_tariff")
class LoadTariffRequest(Schema):
    document = fields.Dict(required=True)


@message("billing.tariff.v1", RPC_RESPONSE, "A stored tariff version.", rpc="billing.load_tariff")
class TariffSchema(Schema):
    tariff_id = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(required=True, allow_none=True)
    adopted_by = fields.String(required=True)
    name = fields.String(required=True)
    customer_classes = fields.List(fields.String(), required=True)
    charges = fields.Integer(required=True)


@message("billing.tariff_history.v1", RPC_RESPONSE, "Every stored tariff version, by tariff then version.",
         rpc="billing.tariff_history")
class TariffHistorySchema(Schema):
    tariffs = fields.List(fields.Nested(TariffSchema), required=True)


def _not_negative(value):
    if value < 0:
        raise ValidationError("Must not be negative.")


@message("billing.preview_bill_request.v1", RPC_REQUEST,
         "What an account would pay for a consumption (or, without account_id, a customer class and meter "
         "size). The period defaults to the calendar month of the business date. Nothing is stored.",
         rpc="billing.preview_bill")
class PreviewBillRequest(Schema):
    account_id = fields.String(load_default=None, allow_none=True)
    customer_class = fields.String(load_default=None, allow_none=True)
    meter_size = fields.String(load_default=None, allow_none=True)
    dwelling_units = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    consumption = Quantity(required=True, validate=_not_negative)
    unit = fields.String(load_default="HCF", validate=validate.OneOf(("HCF", "CCF", "gallons", "cubic_feet",
                                                                      "acre_feet")))
    et_inches = Quantity(load_default=None, allow_none=True)
    # account attributes some charges need (budget, fire line, winter-average sewer); they
    # override what billing holds for account_id
    residents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    landscape_area_sqft = Quantity(load_default=None, allow_none=True, validate=_not_negative)
    budget_variance = Quantity(load_default=None, allow_none=True)
    fire_line_size = fields.String(load_default=None, allow_none=True)
    winter_average = Quantity(load_default=None, allow_none=True, validate=_not_negative)
    period_start = fields.Date(load_default=None, allow_none=True)
    period_end = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _who_and_when(self, data, **kwargs):
        if not data.get("account_id") and not (data.get("customer_class") and data.get("meter_size")):
            raise ValidationError("Give account_id, or customer_class and meter_size.", "account_id")
        if bool(data.get("period_start")) != bool(data.get("period_end")):
            raise ValidationError("Give both period_start and period_end, or neither.", "period_end")
        if data.get("period_start") and data["period_end"] < data["period_start"]:
            raise ValidationError("period_end must not be before period_start.", "period_end")




class PreviewLineSchema(Schema):
    line_no = fields.Integer(required=True, validate=validate.Range(min=1))
    tariff = fields.String(required=True, validate=validate.Regexp(r"^.+@\d+$", error="Expected tariff_id@version."))
    rule = fields.String(required=True)
    charge = fields.String(required=True)
    description = fields.String(required=True)
    quantity = Quantity(required=True)
    unit = fields.String(required=True)
    rate = Quantity(required=True)
    amount = Money(required=True)
    tier_from = Quantity(required=True, allow_none=True)
    tier_to = Quantity(required=True, allow_none=True)
    days = fields.Integer(required=True, allow_none=True)
    proration = fields.String(required=True, allow_none=True)


@message("billing.bill_preview.v1", RPC_RESPONSE,
         "A priced bill that was not issued: every line says which tariff version and charge produced it, "
         "with quantity, unit, rate, tier bounds, days and proration.", rpc="billing.preview_bill")
class BillPreviewSchema(_PeriodSchema):
    account_id = fields.String(required=True, allow_none=True)
    customer_class = fields.String(required=True)
    meter_size = fields.String(required=True)
    dwelling_units = fields.Integer(required=True)
    consumption = Quantity(required=True)
    unit = fields.String(required=True)
    total = Money(required=True)
    lines = fields.List(fields.Nested(PreviewLineSchema), required=True)


# --- adjustments: late penalties and staff credits/debits (issue 3) -------------------------

ADJUSTMENT_KINDS = ("late_penalty", "fee", "credit", "debit")  # fee: collections.fee_assessed.v1
STAFF_ADJUSTMENT_KINDS = ("credit", "debit")
ADJUSTMENT_REASON_CODES = ("leak_adjustment", "billing_error", "meter_error", "penalty_reversal",
                           "fee_reversal", "courtesy", "returned_payment", "other")


class AdjustmentLineSchema(Schema):
    description = fields.String(required=True)
    amount = Money(required=True)  # signed like the adjustment
    rule = fields.String(required=True)  # late_penalty | past_due_interest | the staff reason code


@message("billing.adjustment_posted.v1", EVENT,
         "A ledger adjustment was posted to an account (a late penalty, a fee collections assessed, a staff "
         "credit or debit); bills "
         "are never changed. amount is signed: a charge positive, a credit negative. reference is the "
         "request_id of a penalty or a fee, or the staff reason code.")
class AdjustmentPosted(Schema):
    adjustment_id = fields.String(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ADJUSTMENT_KINDS))
    amount = Money(required=True)
    posted_on = fields.Date(required=True)
    reference = fields.String(required=True)
    bill_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(required=True)
    lines = fields.List(fields.Nested(AdjustmentLineSchema), required=True, validate=validate.Length(min=1))
    balance_due = Money(required=True)


@message("billing.post_adjustment_request.v1", RPC_REQUEST,
         "Staff post a credit or a debit to an account with a reason code, a note and who did it. amount is "
         "positive; the kind gives the sign. Give request_id to make a retried request post once.",
         rpc="billing.post_adjustment")
class PostAdjustmentRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(STAFF_ADJUSTMENT_KINDS))
    amount = Money(required=True, validate=require_positive)
    reason_code = fields.String(required=True, validate=validate.OneOf(ADJUSTMENT_REASON_CODES))
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))
    posted_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    bill_id = fields.String(load_default=None, allow_none=True)
    request_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


@message("billing.adjustment.v1", RPC_RESPONSE, "A posted adjustment and the account balance after it.",
         rpc="billing.post_adjustment")
class AdjustmentSchema(AdjustmentPosted):
    note = fields.String(required=True, allow_none=True)
    posted_by = fields.String(required=True)


# --- the account statement with each line's explanation (issue 3) ---------------------------

class StatementLineSchema(BillLineSchema):
    charge = fields.String(required=True, allow_none=True)  # null on lines billed before the tariff engine
    tier_from = Quantity(required=True, allow_none=True)
    tier_to = Quantity(required=True, allow_none=True)
    days = fields.Integer(required=True, allow_none=True)
    proration = fields.String(required=True, allow_none=True)


class StatementBillV2Schema(StatementBillSchema):
    lines = fields.List(fields.Nested(StatementLineSchema), required=True)


class StatementAdjustmentSchema(Schema):
    adjustment_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ADJUSTMENT_KINDS))
    amount = Money(required=True)
    posted_on = fields.Date(required=True)
    reference = fields.String(required=True)
    bill_id = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    note = fields.String(required=True, allow_none=True)
    posted_by = fields.String(required=True)
    lines = fields.List(fields.Nested(AdjustmentLineSchema), required=True)


@message("billing.account_statement.v2", RPC_RESPONSE,
         "An account's balance with its bills, payments and adjustments (each oldest first); every bill line "
         "carries why it is that amount: the tariff charge, tier bounds, days and proration.",
         rpc="billing.account_statement_v2")
class AccountStatementV2Schema(Schema):
    account_id = fields.String(required=True)
    balance = Money(required=True)
    bills = fields.List(fields.Nested(StatementBillV2Schema), required=True)
    payments = fields.List(fields.Nested(StatementPaymentSchema), required=True)
    adjustments = fields.List(fields.Nested(StatementAdjustmentSchema), required=True)


# --- Prop 218 bill-impact report (issue 3) --------------------------------------------------

@message("billing.bill_impact_request.v1", RPC_REQUEST,
         "Price every account's last billed period on a proposed tariff document (validated, never stored) "
         "and on the tariffs that billed it, for the Prop 218 notice (Cal. Const. art. XIII D sec. 6).",
         rpc="billing.bill_impact")
class BillImpactRequest(Schema):
    document = fields.Dict(required=True)


class BillImpactGroupSchema(Schema):
    customer_class = fields.String(required=True)
    meter_size = fields.String(required=True)
    accounts = fields.Integer(required=True, validate=validate.Range(min=0))
    current_total = Money(required=True)
    proposed_total = Money(required=True)
    average_change = Money(required=True)
    max_change = Money(required=True)  # the largest (signed) change of one bill
    # the change of the group's total in percent of its current total, to 0.01 (null when that is 0)
    total_percent_change = Quantity(required=True, allow_none=True)


class BillImpactExceptionSchema(Schema):
    account_id = fields.String(required=True)
    reason = fields.String(required=True)


@message("billing.bill_impact.v1", RPC_RESPONSE,
         "Bill impact of a proposed tariff by customer class and meter size: how many accounts, their current "
         "and proposed totals, the average and largest change per bill. Accounts the proposal cannot price "
         "are listed, never counted as zero.", rpc="billing.bill_impact")
class BillImpactSchema(Schema):
    proposed_tariff = fields.String(required=True)  # tariff_id@version
    effective_from = fields.Date(required=True)
    accounts_priced = fields.Integer(required=True, validate=validate.Range(min=0))
    groups = fields.List(fields.Nested(BillImpactGroupSchema), required=True)
    exceptions = fields.List(fields.Nested(BillImpactExceptionSchema), required=True)


# --- the seam: is another service's view of an account's ledger current? ------------------------

@message("billing.ledger_positions_request.v1", RPC_REQUEST,
         "The ledger position of each account named: what a service deciding on money (collections) compares "
         "with the billing events it has applied before it acts.", rpc="billing.ledger_positions")
class LedgerPositionsRequest(Schema):
    account_ids = fields.List(fields.String(validate=validate.Length(min=1, max=20)), required=True,
                              validate=validate.Length(min=1, max=5000))


class LedgerPositionSchema(Schema):
    account_id = fields.String(required=True)
    # every ledger entry (bill, payment, adjustment) is announced by exactly one billing event
    # (bill_issued, payment_posted, adjustment_posted): a consumer that applied `entries` events
    # of this account, and holds the same balance, has a current view of it
    entries = fields.Integer(required=True, validate=validate.Range(min=0))
    balance = Money(required=True)


@message("billing.ledger_positions.v1", RPC_RESPONSE,
         "Per account: the number of ledger entries and the balance, on billing's business date. An account "
         "billing does not know has 0 entries and a balance of 0.00.", rpc="billing.ledger_positions")
class LedgerPositions(Schema):
    business_date = fields.Date(required=True)
    positions = fields.List(fields.Nested(LedgerPositionSchema), required=True)
