"""Changing an account's rate attributes and closing it, through the RPCs, on real RabbitMQ and PostgreSQL."""
from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from cis_accounts.adapters.models import Base
from cis_contracts.envelope import open_envelope
from cis_runtime import config, db
from cis_runtime.errors import Conflict, InvalidInput

from test_accounts_service import ADDRESS, open_one_account, outbox_envelopes


def emitted(name: str) -> list[dict]:
    found = []
    for envelope in outbox_envelopes("accounts"):
        header, payload = open_envelope(envelope)
        if f"{header['type']}.v{header['version']}" == name:
            found.append(payload)
    return found


def test_changing_attributes_emits_the_whole_set_with_a_rising_revision(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-05-01")
    account, _ = open_one_account(rpc)

    first = rpc.accounts.change_account_attributes({
        "account_id": account["account_id"], "changed_by": "jlopez", "residents": 4,
        "landscape_area_sqft": "1800", "budget_variance": "3", "budget_variance_reason": "Medical needs"})
    second = rpc.accounts.change_account_attributes({
        "account_id": account["account_id"], "changed_by": "jlopez", "dwelling_units": 2, "residents": None})

    assert first["revision"] == 1 and first["effective_on"] == "2026-05-01"
    assert (second["revision"], second["dwelling_units"], second["residents"]) == (2, 2, None)
    assert second["landscape_area_sqft"] == "1800" and second["budget_variance"] == "3"  # kept
    events = emitted("accounts.account_attributes_changed.v1")
    assert [(e["revision"], e["residents"], e["dwelling_units"], e["changed_by"]) for e in events] == [
        (1, 4, 1, "jlopez"), (2, None, 2, "jlopez")]
    # dwelling units belong to the connection: the account view shows the change
    assert rpc.accounts.get_account(account["account_id"])["connection"]["dwelling_units"] == 2


def test_the_same_attributes_again_change_nothing_and_emit_nothing(running_services, rpc):
    running_services("accounts")
    account, _ = open_one_account(rpc)
    request = {"account_id": account["account_id"], "changed_by": "jlopez", "fire_line_size": "6"}
    rpc.accounts.change_account_attributes(request)
    again = rpc.accounts.change_account_attributes(request)
    assert again["revision"] == 1
    assert len(emitted("accounts.account_attributes_changed.v1")) == 1


def test_bad_attribute_changes_name_the_field_and_store_nothing(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-05-01")
    account, _ = open_one_account(rpc)
    account_id = account["account_id"]
    cases = [
        ({"budget_variance": "3"}, "budget_variance_reason"),
        ({"residents": -1}, "residents"),
        ({"landscape_area_sqft": "-5"}, "landscape_area_sqft"),
        ({"fire_line_size": "5/8"}, "fire_line_size"),
        ({"dwelling_units": 0}, "dwelling_units"),
        ({"residents": 3, "effective_on": "2026-05-02"}, "effective_on"),   # in the future
        ({"residents": 3, "effective_on": "2026-04-30"}, "effective_on"),   # before the account opened
        ({}, "_schema"),
    ]
    for change, field in cases:
        with pytest.raises(InvalidInput) as error:
            rpc.accounts.change_account_attributes({"account_id": account_id, "changed_by": "jlopez", **change})
        assert field in error.value.args[0], (change, error.value.args[0])
    assert rpc.accounts.get_account_attributes(account_id)["revision"] == 0
    assert emitted("accounts.account_attributes_changed.v1") == []


def test_closing_an_account_emits_account_closed_and_frees_the_connection(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-06-01")
    account, connection = open_one_account(rpc)
    rpc.accounts.set_business_date("2026-06-20")

    closed = rpc.accounts.close_account({"account_id": account["account_id"], "closed_on": "2026-06-15"})

    assert closed["status"] == "closed"
    assert emitted("accounts.account_closed.v1") == [
        {"account_id": account["account_id"], "closed_on": date(2026, 6, 15), "reason": "move_out",
         "final_read_requested": True}]
    with pytest.raises(Conflict):
        rpc.accounts.close_account({"account_id": account["account_id"]})
    with pytest.raises(Conflict):
        rpc.accounts.change_account_attributes({"account_id": account["account_id"], "changed_by": "x",
                                                "residents": 2})
    # the next customer moves in on the same connection
    successor = rpc.accounts.open_account({"customer_id": account["customer"]["customer_id"],
                                           "connection_id": connection["connection_id"]})
    assert successor["status"] == "open"


def test_a_closing_date_outside_the_account_life_is_refused(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-06-20")
    account, _ = open_one_account(rpc)
    for closed_on in ("2026-06-21", "2026-06-19"):  # after the business date; before the account opened
        with pytest.raises(InvalidInput) as error:
            rpc.accounts.close_account({"account_id": account["account_id"], "closed_on": closed_on})
        assert "closed_on" in error.value.args[0]
    assert rpc.accounts.get_account(account["account_id"])["status"] == "open"


def test_migrated_schema_matches_the_models():
    url = make_url(config.database_url("accounts")).set(
        database=config.database_name("accounts") + "_migrations").render_as_string(hide_password=False)
    db.drop_database(url)
    db.prepare_database("accounts", url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
        db.drop_database(url)


def test_the_next_account_on_a_connection_opens_after_the_last_day_of_the_previous_one(running_services, rpc):
    """closed_on is the previous customer's last day of service: a successor opening that day would be billed
    for a day the previous customer is billed for too."""
    running_services("accounts")
    rpc.accounts.set_business_date("2026-03-01")
    account, connection = open_one_account(rpc)
    rpc.accounts.set_business_date("2026-03-20")
    rpc.accounts.close_account({"account_id": account["account_id"], "closed_on": "2026-03-10"})
    successor = rpc.accounts.create_customer({"name": "Ben Okafor", "mailing_address": ADDRESS})
    for opened_on in ("2026-03-09", "2026-03-10"):
        with pytest.raises(InvalidInput) as error:
            rpc.accounts.open_account({"customer_id": successor["customer_id"],
                                       "connection_id": connection["connection_id"], "opened_on": opened_on})
        assert "2026-03-11 or later" in error.value.args[0]["opened_on"][0]
    opened = rpc.accounts.open_account({"customer_id": successor["customer_id"],
                                        "connection_id": connection["connection_id"], "opened_on": "2026-03-11"})
    assert opened["opened_on"] == "2026-03-11"
