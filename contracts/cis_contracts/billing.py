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
