"""Contracts offered by every service: the business clock."""
from marshmallow import Schema, fields

from cis_contracts.registry import RPC_REQUEST, message


@message("platform.set_business_date_request.v1", RPC_REQUEST, "Set a service's business date (null: follow the wall clock).",
         rpc="<service>.set_business_date")
class SetBusinessDateRequest(Schema):
    business_date = fields.Date(required=True, allow_none=True)
