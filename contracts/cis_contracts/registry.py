"""The registry of message contracts: name -> schema, kind, examples.

A message name is `<producer>.<message>.v<N>`; the version is part of the name so a
breaking change is a new message, published beside the old one until consumers move.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema

from cis_contracts.fields import apply_schema_door_rules

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

EVENT = "event"          # published to the cis.events exchange, routing key = name
COMMAND = "command"      # published by an outside system to a documented exchange
RPC_REQUEST = "rpc_request"
RPC_RESPONSE = "rpc_response"


@dataclass(frozen=True)
class Message:
    name: str
    kind: str
    schema: type
    summary: str
    exchange: str = "cis.events"
    rpc: str = ""  # "<service>.<method>" for RPC messages
    external_queue: str = ""  # a queue read by a District system outside the suite


    @property
    def version(self) -> int:
        return int(self.name.rsplit(".v", 1)[1])

    @property
    def type(self) -> str:
        return self.name.rsplit(".v", 1)[0]

    def examples(self) -> list[dict]:
        path = EXAMPLES_DIR / f"{self.name}.json"
        if not path.exists():
            return []
        loaded = json.loads(path.read_text())
        return loaded if isinstance(loaded, list) else [loaded]


MESSAGES: dict[str, Message] = {}


def message(name, kind, summary, exchange="cis.events", rpc="", external_queue=""):
    """Class decorator that registers a schema as the contract for `name`.

    `external_queue` names the durable queue a system outside the suite (operations) reads
    this event from; the deploy step declares it."""

    def register(schema_cls: type[Schema]):
        if name in MESSAGES:
            raise ValueError(f"contract {name} registered twice")
        apply_schema_door_rules(schema_cls)
        MESSAGES[name] = Message(name, kind, schema_cls, summary, exchange, rpc, external_queue)
        schema_cls.message_name = name
        return schema_cls

    return register


def get(name: str) -> Message:
    try:
        return MESSAGES[name]
    except KeyError:
        raise KeyError(f"no contract named {name}") from None


def validate(name: str, payload: dict) -> dict:
    """Load `payload` with the contract's schema; raises marshmallow.ValidationError."""
    return get(name).schema().load(payload)
