"""Fingerprints of message schemas (after OpenStack Nova's object fingerprints).

A contract's fingerprint hashes its field names, types, required/nullable flags and nested
schemas. `contracts/fingerprints.json` records them; a test fails when a schema changes but its
name (and so its version) does not. After a deliberate, versioned change run
`python -m cis_contracts.fingerprint --write`.
"""
import hashlib
import json
import sys
from pathlib import Path

from marshmallow import fields

FINGERPRINTS_FILE = Path(__file__).resolve().parent.parent / "fingerprints.json"


def describe(schema_cls) -> list:
    schema = schema_cls() if isinstance(schema_cls, type) else schema_cls
    described = []
    for name, field in sorted(schema.fields.items()):
        described.append([name, _describe_field(field)])
    return described


def _describe_field(field) -> list:
    entry = [type(field).__name__, bool(field.required), bool(field.allow_none)]
    if isinstance(field, fields.Nested):
        entry.append(describe(field.schema))
    elif isinstance(field, fields.List):
        entry.append(_describe_field(field.inner))
    return entry


def fingerprint(schema_cls) -> str:
    return hashlib.sha256(json.dumps(describe(schema_cls)).encode()).hexdigest()[:16]


def current() -> dict[str, str]:
    from cis_contracts import MESSAGES
    return {name: fingerprint(message.schema) for name, message in sorted(MESSAGES.items())}


def recorded() -> dict[str, str]:
    return json.loads(FINGERPRINTS_FILE.read_text()) if FINGERPRINTS_FILE.exists() else {}


if __name__ == "__main__":
    if "--write" in sys.argv:
        FINGERPRINTS_FILE.write_text(json.dumps(current(), indent=2) + "\n")
    print(json.dumps(current(), indent=2))
