"""Contracts of the notifications service: the record of what was sent to whom."""
from marshmallow import Schema, fields, validate

from cis_contracts.fields import ZonedDateTime
from cis_contracts.registry import RPC_RESPONSE, message

DELIVERY_KINDS = ("bill_notice", "past_due_notice", "shutoff_notice", "occupant_notice", "tenant_notice",
                  "forty_eight_hour_notice", "plan_default_final_notice")
DELIVERY_STATUSES = ("sent", "failed", "no_address")


class DeliverySchema(Schema):
    delivery_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(DELIVERY_KINDS))
    recipient = fields.String(required=True, allow_none=True)  # null when the account has no email
    subject = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    sent_at = ZonedDateTime(required=True)  # when it was sent, or last attempted / recorded


@message("notifications.deliveries.v1", RPC_RESPONSE, "Every notice delivery recorded for an account, oldest first.",
         rpc="notifications.list_deliveries")
class Deliveries(Schema):
    account_id = fields.String(required=True)
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
