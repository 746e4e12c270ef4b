"""The envelope every event travels in.

{message_id, type, version, occurred_at, producer, correlation_id, payload}; `type`
plus `version` name the payload's contract (`type` + ".v" + version).
"""
import uuid
from datetime import datetime, timezone

from marshmallow import Schema, fields, validate

from cis_contracts.fields import ZonedDateTime, apply_schema_door_rules


class EnvelopeSchema(Schema):
    message_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = ZonedDateTime(required=True)
    producer = fields.String(required=True)
    correlation_id = fields.String(required=True)
    payload = fields.Dict(required=True)


apply_schema_door_rules(EnvelopeSchema)


def contract_name(envelope: dict) -> str:
    return f"{envelope['type']}.v{envelope['version']}"


def make_envelope(name: str, producer: str, payload: dict, correlation_id: str | None = None,
                  message_id: str | None = None, occurred_at: datetime | None = None) -> dict:
    """Build a JSON-ready envelope for contract `name` around an already dumped payload."""
    message_type, version = name.rsplit(".v", 1)
    message_id = message_id or str(uuid.uuid4())
    return {
        "message_id": message_id,
        "type": message_type,
        "version": int(version),
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "producer": producer,
        "correlation_id": correlation_id or message_id,
        "payload": payload,
    }


def open_envelope(body: dict) -> tuple[dict, dict]:
    """Validate an envelope and its payload; returns (envelope, loaded payload).

    Raises marshmallow.ValidationError naming the bad field.
    """
    from cis_contracts.registry import validate as validate_payload

    envelope = EnvelopeSchema().load(body)
    envelope["message_id"] = str(envelope["message_id"])
    payload = validate_payload(contract_name(envelope), body["payload"])
    return envelope, payload
