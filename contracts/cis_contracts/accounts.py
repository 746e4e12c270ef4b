"""Contracts of the accounts service: customers, parcels (APN), service connections, accounts."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from cis_contracts.fields import Quantity
from cis_contracts.registry import EVENT, RPC_REQUEST, RPC_RESPONSE, message

APN_PATTERN = r"^\d{3}-\d{3}-\d{3}$"
# District data owned by accounts: the customer classes the District serves. Accounts opens accounts in
# these only; billing refuses a tariff naming another (docs/tariffs.md). A new class is added here.
CUSTOMER_CLASSES = ("residential", "multi_family", "commercial", "irrigation", "agency")
FIRE_LINE_SIZES = ("1", "1.5", "2", "3", "4", "6", "8", "10", "12")  # inches


class AddressSchema(Schema):
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    state = fields.String(load_default="CA", validate=validate.Length(equal=2))
    zip = fields.String(required=True, validate=validate.Regexp(r"^\d{5}(-\d{4})?$", error="Not a ZIP code."))


@message("accounts.create_customer_request.v1", RPC_REQUEST, "Create a customer (person or organisation billed).",
         rpc="accounts.create_customer")
class CreateCustomerRequest(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    mailing_address = fields.Nested(AddressSchema, required=True)
    preferred_language = fields.String(load_default="en", validate=validate.Length(min=2, max=8))


@message("accounts.customer.v1", RPC_RESPONSE, "A customer as stored.", rpc="accounts.create_customer")
class CustomerSchema(CreateCustomerRequest):
    customer_id = fields.String(required=True)


@message("accounts.create_parcel_request.v1", RPC_REQUEST, "Record a parcel by its Assessor's Parcel Number.",
         rpc="accounts.create_parcel")
class CreateParcelRequest(Schema):
    apn = fields.String(required=True, validate=validate.Regexp(APN_PATTERN, error="APN must look like 123-456-789."))
    situs_address = fields.Nested(AddressSchema, required=True)
    owner_of_record = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_mailing_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)


@message("accounts.parcel.v1", RPC_RESPONSE, "A parcel as stored.", rpc="accounts.create_parcel")
class ParcelSchema(CreateParcelRequest):
    pass


@message("accounts.authorize_connection_request.v1", RPC_REQUEST,
         "Authorize a metered service connection on a parcel.", rpc="accounts.authorize_connection")
class AuthorizeConnectionRequest(Schema):
    apn = fields.String(required=True, validate=validate.Regexp(APN_PATTERN, error="APN must look like 123-456-789."))
    service_type = fields.String(load_default="water", validate=validate.OneOf(["water", "fire", "irrigation"]))
    authorized_meter_size = fields.String(required=True, validate=validate.OneOf(
        ["5/8", "3/4", "1", "1.5", "2", "3", "4", "6", "8"]))
    dwelling_units = fields.Integer(load_default=1, validate=validate.Range(min=1))


@message("accounts.connection.v1", RPC_RESPONSE, "A service connection as stored.", rpc="accounts.authorize_connection")
class ConnectionSchema(AuthorizeConnectionRequest):
    connection_id = fields.String(required=True)
    status = fields.String(required=True)


@message("accounts.open_account_request.v1", RPC_REQUEST,
         "Open an account: a customer taking service at a connection.", rpc="accounts.open_account")
class OpenAccountRequest(Schema):
    customer_id = fields.String(required=True)
    connection_id = fields.String(required=True)
    customer_class = fields.String(load_default="residential", validate=validate.OneOf(CUSTOMER_CLASSES))
    opened_on = fields.Date(load_default=None, allow_none=True)
    bill_cycle = fields.String(load_default="1", validate=validate.Length(min=1, max=10))


@message("accounts.account.v1", RPC_RESPONSE, "An account with its customer, connection and parcel.",
         rpc="accounts.get_account")
class AccountSchema(Schema):
    account_id = fields.String(required=True)
    status = fields.String(required=True)
    customer_class = fields.String(required=True)
    bill_cycle = fields.String(required=True)
    opened_on = fields.Date(required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    connection = fields.Nested(ConnectionSchema, required=True)
    parcel = fields.Nested(ParcelSchema, required=True)


@message("accounts.account_opened.v1", EVENT, "An account was opened; others build their view of it from this.")
class AccountOpened(Schema):
    account_id = fields.String(required=True)
    customer_id = fields.String(required=True)
    customer_name = fields.String(required=True)
    email = fields.Email(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    preferred_language = fields.String(required=True)
    mailing_address = fields.Nested(AddressSchema, required=True)
    service_address = fields.Nested(AddressSchema, required=True)
    apn = fields.String(required=True)
    owner_of_record = fields.String(required=True)
    connection_id = fields.String(required=True)
    authorized_meter_size = fields.String(required=True)
    dwelling_units = fields.Integer(required=True)
    customer_class = fields.String(required=True)
    bill_cycle = fields.String(required=True)
    opened_on = fields.Date(required=True)


# --- account attributes and closing (issue 3) -----------------------------------------------

CLOSE_REASONS = ("move_out", "owner_request", "connection_removed", "other")


def _not_negative(value):
    if value < 0:
        raise ValidationError("Must not be negative.")


class _AccountAttributes(Schema):
    """What rate design needs to know about an account beyond its class and meter (docs/tariffs.md)."""
    dwelling_units = fields.Integer(required=True, validate=validate.Range(min=1))
    residents = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    landscape_area_sqft = Quantity(load_default=None, allow_none=True, validate=_not_negative)
    # a water-budget variance in HCF per bill (medical needs, more occupants, larger landscape)
    budget_variance = Quantity(load_default=None, allow_none=True)
    budget_variance_reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    fire_line_size = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FIRE_LINE_SIZES))

    @validates_schema
    def _variance_has_reason(self, data, **kwargs):
        if data.get("budget_variance") and not data.get("budget_variance_reason"):
            raise ValidationError("A budget variance needs its reason (medical needs, occupants, landscape).",
                                  "budget_variance_reason")


@message("accounts.change_account_attributes_request.v1", RPC_REQUEST,
         "Change what rates are computed from: dwelling units, residents, landscape area, a water-budget "
         "variance (with its reason), fire line size. Fields left out keep their value; null clears one. "
         "effective_on (default: the business date) may not be in the future.",
         rpc="accounts.change_account_attributes")
class ChangeAccountAttributesRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1))
    effective_on = fields.Date(load_default=None, allow_none=True)
    changed_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    dwelling_units = fields.Integer(validate=validate.Range(min=1))
    residents = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100))
    landscape_area_sqft = Quantity(allow_none=True, validate=_not_negative)
    budget_variance = Quantity(allow_none=True)
    budget_variance_reason = fields.String(allow_none=True, validate=validate.Length(max=200))
    fire_line_size = fields.String(allow_none=True, validate=validate.OneOf(FIRE_LINE_SIZES))


@message("accounts.account_attributes.v1", RPC_RESPONSE, "An account's rate attributes as they now stand.",
         rpc="accounts.change_account_attributes")
class AccountAttributesSchema(_AccountAttributes):
    account_id = fields.String(required=True)
    effective_on = fields.Date(required=True, allow_none=True)  # null: never changed since opening
    revision = fields.Integer(required=True, validate=validate.Range(min=0))


@message("accounts.account_attributes_changed.v1", EVENT,
         "An account's rate attributes changed. The payload is the whole set after the change (null: the "
         "account has none); `revision` rises by one with each change, so a consumer keeps the highest.")
class AccountAttributesChanged(_AccountAttributes):
    account_id = fields.String(required=True)
    effective_on = fields.Date(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    changed_by = fields.String(required=True)


@message("accounts.close_account_request.v1", RPC_REQUEST,
         "Close an account (move-out): closed_on is the last day of service (default: the business date; "
         "not before it opened, not in the future). A final read is requested unless told otherwise.",
         rpc="accounts.close_account")
class CloseAccountRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1))
    closed_on = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default="move_out", validate=validate.OneOf(CLOSE_REASONS))
    final_read_requested = fields.Boolean(load_default=True)


@message("accounts.account_closed.v1", EVENT,
         "An account was closed: no bill run takes it after this; metering takes a final read if requested.")
class AccountClosed(Schema):
    account_id = fields.String(required=True)
    closed_on = fields.Date(required=True)  # the last day of service
    reason = fields.String(required=True)
    final_read_requested = fields.Boolean(required=True)


@message("accounts.close_account_request.v2", RPC_REQUEST,
         "v1 plus the forwarding address the customer gave at move-out, where the closing bill and any final "
         "notices go (null: the mailing address on file). v1 bodies still load.", rpc="accounts.close_account")
class CloseAccountRequestV2(CloseAccountRequest):
    forwarding_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)


@message("accounts.account_closed.v2", EVENT,
         "v1 plus the forwarding address (null: the mailing address on file). Published beside v1 for the "
         "consumers that have not moved; collections and notifications read v2.")
class AccountClosedV2(AccountClosed):
    forwarding_address = fields.Nested(AddressSchema, required=True, allow_none=True)


# --- how the customer gets bills (owned by accounts: the customer's choice) ---------------------

@message("accounts.set_bill_delivery_request.v1", RPC_REQUEST,
         "The customer's choice of paper or paperless bills. Paperless needs an email address on the customer; "
         "every bill is mailed on paper unless the customer chose paperless and the address works.",
         rpc="accounts.set_bill_delivery")
class SetBillDeliveryRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=20))
    paperless = fields.Boolean(required=True)
    changed_by = fields.String(required=True, validate=validate.Length(min=1, max=100))


@message("accounts.bill_delivery.v1", RPC_RESPONSE, "An account's bill delivery choice.",
         rpc="accounts.set_bill_delivery")
class BillDelivery(Schema):
    account_id = fields.String(required=True)
    paperless = fields.Boolean(required=True)
    email = fields.String(required=True, allow_none=True)
    changed_on = fields.Date(required=True, allow_none=True)  # null: never changed (paper, the default)
    changed_by = fields.String(required=True, allow_none=True)


@message("accounts.bill_delivery_changed.v1", EVENT,
         "An account's bill delivery choice changed (the whole choice after the change); `revision` rises by one "
         "with each change, so a consumer keeps the highest. No event yet: paper.")
class BillDeliveryChanged(Schema):
    account_id = fields.String(required=True)
    paperless = fields.Boolean(required=True)
    email = fields.String(required=True, allow_none=True)
    changed_on = fields.Date(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))


# --- staff search (issue 11) ---------------------------------------------------------------------

SEARCH_MATCHES = ("account_id", "apn", "phone", "name", "email", "service_address", "mailing_address")
SEARCH_MAX_OFFSET = 1000  # 50 pages of 20: past that, the query needs more words, not more pages


@message("accounts.search_accounts_request.v1", RPC_REQUEST,
         "Search accounts by account id (prefix), APN or phone (digits, dashes optional), customer name, email, "
         "service address or mailing address line 1 (anywhere from 3 characters, by prefix below). Paged by "
         "offset; no request lists every account.", rpc="accounts.search_accounts")
class SearchAccountsRequest(Schema):
    query = fields.String(required=True, validate=validate.Length(min=2, max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=SEARCH_MAX_OFFSET))

    @pre_load
    def _query_without_outer_spaces(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("query"), str):
            return {**data, "query": data["query"].strip()}
        return data


class AccountSearchResult(Schema):
    account_id = fields.String(required=True)
    status = fields.String(required=True)
    customer_id = fields.String(required=True)
    customer_name = fields.String(required=True)
    apn = fields.String(required=True)
    service_address = fields.Nested(AddressSchema, required=True)
    matched = fields.String(required=True, validate=validate.OneOf(SEARCH_MATCHES))  # the field that matched


@message("accounts.account_search.v1", RPC_RESPONSE,
         "One page of search results, the most specific match first (account id, APN, phone, name, email, "
         "service address, mailing address), then by account id; has_more: a next page exists.",
         rpc="accounts.search_accounts")
class AccountSearch(Schema):
    query = fields.String(required=True)
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    results = fields.List(fields.Nested(AccountSearchResult), required=True)
