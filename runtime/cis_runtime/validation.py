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
