"""Accounts through its RPC entrypoints on real RabbitMQ and PostgreSQL."""
import pytest
import sqlalchemy as sa

from cis_contracts.envelope import open_envelope
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound

ADDRESS = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}


def open_one_account(rpc, apn="011-222-333"):
    customer = rpc.accounts.create_customer({"name": "Ana Reyes", "email": "ana@example.org",
                                             "mailing_address": ADDRESS})
    rpc.accounts.create_parcel({"apn": apn, "situs_address": ADDRESS, "owner_of_record": "Ana Reyes"})
    connection = rpc.accounts.authorize_connection({"apn": apn, "authorized_meter_size": "5/8"})
    account = rpc.accounts.open_account({"customer_id": customer["customer_id"],
                                         "connection_id": connection["connection_id"]})
    return account, connection


def outbox_envelopes(service: str) -> list[dict]:
    with engine_for(service).connect() as db:
        return list(db.scalars(sa.text("select envelope from outbox order by id")))


def test_opening_an_account_emits_account_opened_that_honours_its_contract(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-03-01")
    account, connection = open_one_account(rpc)

    assert account["opened_on"] == "2026-03-01"
    assert account["parcel"]["apn"] == "011-222-333"
    [envelope] = outbox_envelopes("accounts")
    opened, payload = open_envelope(envelope)
    assert (opened["type"], opened["version"], opened["producer"]) == ("accounts.account_opened", 1, "accounts")
    assert payload["account_id"] == account["account_id"]
    assert payload["connection_id"] == connection["connection_id"]


def test_a_connection_takes_one_open_account(running_services, rpc):
    running_services("accounts")
    account, connection = open_one_account(rpc)
    with pytest.raises(Conflict):
        rpc.accounts.open_account({"customer_id": account["customer"]["customer_id"],
                                   "connection_id": connection["connection_id"]})
    assert len(outbox_envelopes("accounts")) == 1


def test_bad_requests_name_the_field_and_store_nothing(running_services, rpc):
    running_services("accounts")
    with pytest.raises(InvalidInput) as error:
        rpc.accounts.create_parcel({"apn": "11-22", "situs_address": {"city": "Ojai"}, "owner_of_record": "X"})
    assert "apn" in error.value.args[0]
    assert "line1" in error.value.args[0]["situs_address"]
    with pytest.raises(NotFound):
        rpc.accounts.authorize_connection({"apn": "999-999-999", "authorized_meter_size": "1"})
    with engine_for("accounts").connect() as db:
        assert db.scalar(sa.text("select count(*) from parcels")) == 0
        assert db.scalar(sa.text("select count(*) from connections")) == 0


def test_oversized_strings_nul_bytes_implausible_dates_and_huge_numbers_are_refused_naming_the_field(
        running_services, rpc):  # issue 10: each was a 500 or stored as given
    running_services("accounts")
    long_line = {**ADDRESS, "line2": "x" * 5000}
    cases = [
        (rpc.accounts.create_customer, {"name": "Ana Reyes", "mailing_address": long_line}, ("mailing_address", "line2")),
        (rpc.accounts.create_customer, {"name": "Ana\x00 Reyes", "mailing_address": ADDRESS}, ("name",)),
        (rpc.accounts.create_parcel, {"apn": "011-222-333", "situs_address": ADDRESS, "owner_of_record": "A" * 5000},
         ("owner_of_record",)),
        (rpc.accounts.authorize_connection, {"apn": "011-222-333", "authorized_meter_size": "5/8",
                                             "dwelling_units": 10**20}, ("dwelling_units",)),
        (rpc.accounts.open_account, {"customer_id": "C1", "connection_id": "SC1", "opened_on": "9999-12-31"},
         ("opened_on",)),
    ]
    for call, request, path in cases:
        with pytest.raises(InvalidInput) as error:
            call(request)
        fields = error.value.args[0]
        for key in path:
            assert key in fields, (request, fields)
            fields = fields[key]
    with engine_for("accounts").connect() as db:
        assert db.scalar(sa.text("select count(*) from customers")) == 0
        assert db.scalar(sa.text("select count(*) from parcels")) == 0


def test_an_account_id_with_a_nul_or_a_megabyte_long_is_refused_naming_the_field(running_services, rpc):
    running_services("accounts")
    for call in (rpc.accounts.get_account, rpc.accounts.get_account_attributes, rpc.accounts.get_bill_delivery):
        for account_id in ("A\x00", "A" * 1_000_000, 7):
            with pytest.raises(InvalidInput) as error:
                call(account_id)
            assert "account_id" in error.value.args[0]
