"""Contracts of the District's operations (field work) system, outside the suite.

Operations reads its work orders from the durable queue `operations.work_orders` (shutoff,
reconnect, notice postings from collections; field work from metering) and reports each one
back by publishing `operations.work_order_completed.v1` to topic exchange `operations.inbound`,
routing key = the contract name, in the usual envelope (message_id derived from
work_order_id + outcome, so a re-published report is recognised).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cis_contracts.fields import ZonedDateTime
from cis_contracts.registry import COMMAND, message

OPERATIONS_EXCHANGE = "operations.inbound"
WORK_ORDER_KINDS = ("shutoff", "reconnect", "door_hanger_posted", "field_work")
OUTCOMES = ("done", "could_not_complete")


@message("operations.work_order_completed.v1", COMMAND,
         "Operations reports a work order carried out or not (exchange operations.inbound, routing key = this "
         "name): shutoff done = the meter sealed and locked; reconnect done = unsealed; door_hanger_posted done = "
         "the notice posted at the premises at completed_at. could_not_complete carries the reason "
         "(no access, customer paid at the door, order cancelled ...).",
         exchange=OPERATIONS_EXCHANGE)
class WorkOrderCompleted(Schema):
    work_order_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    kind = fields.String(required=True, validate=validate.OneOf(WORK_ORDER_KINDS))
    completed_at = ZonedDateTime(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    crew = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))

    @validates_schema
    def _reason_when_not_done(self, data, **kwargs):
        if data.get("outcome") == "could_not_complete" and not (data.get("reason") or "").strip():
            raise ValidationError("Say why the work could not be completed.", "reason")
