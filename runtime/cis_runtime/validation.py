"""Validate an RPC request against its contract, turning marshmallow errors into InvalidInput."""
from marshmallow import ValidationError

from cis_contracts.registry import validate
from cis_runtime.errors import InvalidInput


def load_request(message_name: str, request) -> dict:
    if not isinstance(request, dict):
        raise InvalidInput({"_schema": ["Request must be a JSON object."]})
    try:
        return validate(message_name, request)
    except ValidationError as exc:
        raise InvalidInput(exc.normalized_messages()) from None


ID_LIMIT = 100


def load_id(field: str, value) -> str:
    """An identifier passed bare to an RPC (an account id, a run id): a short string without NUL, so a
    1 MB or NUL-bearing id is refused naming the field instead of failing at the database."""
    if not isinstance(value, str) or not value or len(value) > ID_LIMIT or "\x00" in value:
        raise InvalidInput({field: [f"Give the {field} as a string of 1 to {ID_LIMIT} characters."]})
    return value
