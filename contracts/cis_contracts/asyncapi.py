"""Generate the AsyncAPI document (contracts/asyncapi.yaml) from the registered schemas.

For the AMI head-end and other District systems: which exchange, which routing key, what
the envelope and each payload look like. `python -m cis_contracts.asyncapi --write`
regenerates the committed copy; a test fails when it is stale.
"""
import sys
from pathlib import Path

import yaml
from marshmallow import fields

from cis_contracts import MESSAGES
from cis_contracts import fields as cis_fields
from cis_contracts.envelope import EnvelopeSchema
from cis_contracts.registry import EVENT, COMMAND

ASYNCAPI_FILE = Path(__file__).resolve().parent.parent / "asyncapi.yaml"

SIMPLE_TYPES = [
    (cis_fields.Quantity, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "decimal quantity"}),
    (cis_fields.Money, {"type": "string", "pattern": cis_fields.MONEY_PATTERN,
                        "description": "decimal amount, at most two decimals"}),
    (fields.AwareDateTime, {"type": "string", "format": "date-time"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.String, {"type": "string"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.Dict, {"type": "object"}),
]


def json_schema(schema) -> dict:
    schema = schema() if isinstance(schema, type) else schema
    properties, required = {}, []
    for name, field in schema.fields.items():
        properties[name] = field_schema(field)
        if field.required:
            required.append(name)
    result = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


def field_schema(field) -> dict:
    if isinstance(field, fields.Nested):
        described = json_schema(field.schema)
        return {"type": "array", "items": described} if field.many else described
    if isinstance(field, fields.List):
        described = {"type": "array", "items": field_schema(field.inner)}
    else:
        described = next((dict(d) for kind, d in SIMPLE_TYPES if isinstance(field, kind)), {})
    if field.allow_none:
        described["nullable"] = True
    return described


def document() -> dict:
    channels, messages = {}, {}
    for name, message in sorted(MESSAGES.items()):
        if message.kind not in (EVENT, COMMAND):
            continue
        messages[name] = {
            "name": name, "summary": message.summary, "contentType": "application/json",
            "payload": envelope_for(name, message.schema),
        }
        action = "subscribe" if message.kind == EVENT else "publish"
        channels[name] = {
            "description": f"exchange `{message.exchange}` (topic, durable), routing key `{name}`",
            "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": message.exchange, "type": "topic",
                                                                    "durable": True}}},
            action: {"message": {"$ref": f"#/components/messages/{name}"}},
        }
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Water CIS suite messages", "version": "1",
                 "description": "Events the suite publishes and commands it accepts over AMQP 0-9-1. Every "
                                "message is a JSON envelope; its message_id is the idempotency key (a "
                                "re-published message with the same id has no second effect)."},
        "servers": {"local": {"url": "amqp://127.0.0.1:5672/", "protocol": "amqp", "protocolVersion": "0.9.1"}},
        "channels": channels,
        "components": {"messages": messages},
    }


def envelope_for(name: str, payload_schema) -> dict:
    described = json_schema(EnvelopeSchema)
    message_type, version = name.rsplit(".v", 1)
    described["properties"]["type"] = {"type": "string", "const": message_type}
    described["properties"]["version"] = {"type": "integer", "const": int(version)}
    described["properties"]["payload"] = json_schema(payload_schema)
    return described


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=False, width=100)


if __name__ == "__main__":
    if "--write" in sys.argv:
        ASYNCAPI_FILE.write_text(render())
    else:
        print(render())
