"""Accounts domain: plain objects and rules, no framework."""
from dataclasses import dataclass
from datetime import date

from cis_runtime.errors import Conflict


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


def opening_date(requested: date | None, business_date: date) -> date:
    return requested or business_date
