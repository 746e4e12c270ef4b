"""Contracts of the collections service: past-due notice requests, daily runs, account status."""
from marshmallow import Schema, fields, validate

from cis_contracts.fields import Money
from cis_contracts.registry import EVENT, RPC_RESPONSE, message

ACCOUNT_STATUSES = ("current", "delinquent")
NOTICE_KINDS = ("past_due",)


@message("collections.notice_requested.v1", EVENT,
         "Collections asks for a notice to the customer: bills became past due (one notice per bill, ever).")
class NoticeRequested(Schema):
    notice_id = fields.String(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    amount_past_due = Money(required=True)  # everything past due on the account, not only these bills
    bill_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1))  # newly past due
    oldest_due_on = fields.Date(required=True)  # earliest due date among the account's past-due bills
    requested_on = fields.Date(required=True)


@message("collections.daily_run.v1", RPC_RESPONSE,
         "The daily assessment of one business date (runs once per date; asking again returns the same run).",
         rpc="collections.run_daily")
class DailyRun(Schema):
    business_date = fields.Date(required=True)
    accounts_assessed = fields.Integer(required=True, validate=validate.Range(min=0))
    newly_delinquent = fields.Integer(required=True, validate=validate.Range(min=0))
    notices_requested = fields.Integer(required=True, validate=validate.Range(min=0))


class NoticeSummary(Schema):
    notice_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    requested_on = fields.Date(required=True)
    amount_past_due = Money(required=True)


@message("collections.account_status.v1", RPC_RESPONSE,
         "An account's collections standing on the business date. An account never billed is current.",
         rpc="collections.account_status")
class AccountStatus(Schema):
    account_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ACCOUNT_STATUSES))
    past_due_amount = Money(required=True)
    delinquent_since = fields.Date(required=True, allow_none=True)
    notices_requested = fields.List(fields.Nested(NoticeSummary), required=True)
