"""Contracts of the notifications service: the record of what was sent to whom."""
from marshmallow import Schema, fields, validate

from cis_contracts.fields import ZonedDateTime
from cis_contracts.registry import EVENT, RPC_RESPONSE, message

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


NOTICE_KINDS = ("shutoff_notice", "occupant_notice", "tenant_notice", "forty_eight_hour_notice",
                "plan_default_final_notice")
CHANNELS = ("mail", "email", "posted")


@message("notifications.notice_dispatched.v1", EVENT,
         "A collections notice left the District: mail = the printed letter was handed to the mail house on "
         "dispatched_on (the mailing date every statutory period counts from); email = a copy was emailed; "
         "posted = it was posted at the premises. One event per notice and channel (dispatch_id).")
class NoticeDispatched(Schema):
    dispatch_id = fields.String(required=True)  # "<notice_id>-<channel>": a repeat is recognised
    notice_id = fields.String(required=True)    # collections' notice (collection_notice_requested.v1)
    account_id = fields.String(required=True)
    notice_kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    dispatched_on = fields.Date(required=True)
    addressee = fields.String(required=True)
    address = fields.String(required=True)      # the postal address, or the email address
    document = fields.String(required=True, allow_none=True)  # the printed letter in the mail-house drop


BILL_CHANNELS = ("mail", "email")


@message("notifications.bill_delivered.v1", EVENT,
         "A bill reached the customer: mail = the printed bill was handed to the mail house on delivered_on; "
         "email = the e-bill was accepted by the mail relay for a paperless customer with a working address. "
         "Every period collections counts from a bill (past-due reminders, Gov. Code 60373(a)'s 19 days) "
         "counts from delivered_on; a bill never delivered starts nothing. One event per bill (delivery_id).")
class BillDelivered(Schema):
    delivery_id = fields.String(required=True)  # "<bill_id>-bill": a repeat is recognised
    bill_id = fields.String(required=True)
    account_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(BILL_CHANNELS))
    delivered_on = fields.Date(required=True)
    addressee = fields.String(required=True)
    address = fields.String(required=True)      # the postal address, or the email address
    document = fields.String(required=True, allow_none=True)  # the printed bill in the mail-house drop


# v1's list missed the leak and backflow letters notifications also records
DELIVERY_KINDS_V2 = DELIVERY_KINDS + ("leak_letter", "backflow_letter")


class DeliveryV2Schema(Schema):
    delivery_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(DELIVERY_KINDS_V2))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    recipient = fields.String(required=True, allow_none=True)  # the addressee and postal address, or the email
    subject = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    business_date = fields.Date(required=True)  # the District's business date it was mailed, posted or emailed
    reference = fields.String(required=True, allow_none=True)  # the bill_id or collections' notice_id
    sent_at = ZonedDateTime(required=True)  # the wall-clock instant, for support staff


@message("notifications.deliveries.v2", RPC_RESPONSE,
         "Every delivery recorded for an account, oldest business date first: v1 plus the channel, the business "
         "date (what staff read) and the bill or notice it carried.", rpc="notifications.list_deliveries_v2")
class DeliveriesV2(Schema):
    account_id = fields.String(required=True)
    deliveries = fields.List(fields.Nested(DeliveryV2Schema), required=True)
