"""Accounts domain: plain objects and rules, no framework."""
from dataclasses import dataclass
from datetime import date, timedelta

from cis_runtime.errors import Conflict, InvalidInput


@dataclass
class ServiceConnection:
    """An authorized meter connection on a parcel (what the District permits, not the meter itself)."""
    connection_id: str
    apn: str
    service_type: str
    authorized_meter_size: str
    dwelling_units: int
    status: str = "authorized"


def check_connection_available(connection: ServiceConnection, open_accounts_on_connection: int) -> None:
    """One open account per connection: two customers cannot both be billed for one meter."""
    if connection.status != "authorized":
        raise Conflict(f"connection {connection.connection_id} is {connection.status}, not authorized")
    if open_accounts_on_connection:
        raise Conflict(f"connection {connection.connection_id} already has an open account")


def next_identifier(prefix: str, sequence_value: int) -> str:
    return f"{prefix}{sequence_value:07d}"


def opening_date(requested: date | None, business_date: date, previous_service_through: date | None = None) -> date:
    """The first day of service. The connection's previous account had service through its closed_on, so the
    next one opens the day after at the earliest: one day is never billed to two customers."""
    opened_on = requested or business_date
    if previous_service_through is not None and opened_on <= previous_service_through:
        first_free = previous_service_through + timedelta(days=1)
        raise InvalidInput({"opened_on": [f"The connection's previous account had service through "
                                          f"{previous_service_through.isoformat()}: open on "
                                          f"{first_free.isoformat()} or later."]})
    return opened_on


# --- rate attributes and closing ------------------------------------------------------------

ATTRIBUTE_FIELDS = ("dwelling_units", "residents", "landscape_area_sqft", "budget_variance",
                    "budget_variance_reason", "fire_line_size")


def changed_attributes(current: dict, changes: dict) -> dict:
    """The whole attribute set after the fields given (a field given as null clears it).

    A water-budget variance must say why (the District grants them for medical needs, more
    occupants or a larger landscape); clearing the variance clears its reason.
    """
    given = {name: changes[name] for name in ATTRIBUTE_FIELDS if name in changes}
    if not given:
        raise InvalidInput({"_schema": [f"Give at least one of {', '.join(ATTRIBUTE_FIELDS)}."]})
    after = {**current, **given}
    if not after["budget_variance"]:
        after["budget_variance"], after["budget_variance_reason"] = None, None
    elif not after["budget_variance_reason"]:
        raise InvalidInput({"budget_variance_reason": ["A budget variance needs its reason."]})
    return after


def check_effective_on(effective_on: date, opened_on: date, business_date: date, field: str) -> None:
    """A change or a closing takes effect between the opening and today (none is scheduled ahead)."""
    if effective_on > business_date:
        raise InvalidInput({field: [f"{effective_on.isoformat()} is after the business date "
                                    f"{business_date.isoformat()}."]})
    if effective_on < opened_on:
        raise InvalidInput({field: [f"{effective_on.isoformat()} is before the account opened "
                                    f"({opened_on.isoformat()})."]})


def check_open(account_id: str, status: str) -> None:
    if status != "open":
        raise Conflict(f"account {account_id} is {status}")


# --- bill delivery ---------------------------------------------------------------------------

def check_paperless_possible(paperless: bool, email: str | None) -> None:
    """Paperless bills go to the customer's email address: without one every bill is mailed on paper."""
    if paperless and not email:
        raise InvalidInput({"paperless": ["The customer has no email address: paperless bills need one."]})
