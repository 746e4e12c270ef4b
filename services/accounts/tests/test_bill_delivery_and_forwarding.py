"""Issue 9: the customer's paper or paperless choice, and the forwarding address given at move-out, through
the RPCs on real RabbitMQ and PostgreSQL."""
from datetime import date

import pytest

from cis_contracts.registry import get
from cis_runtime.errors import InvalidInput, NotFound

from test_account_attributes_and_closing import emitted
from test_accounts_service import ADDRESS, open_one_account

FORWARDING = {"line1": "400 Pine Ave", "city": "Fresno", "zip": "93701"}


def test_bills_are_paper_until_the_customer_chooses_paperless_and_each_change_raises_the_revision(
        running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-05-01")
    account, _ = open_one_account(rpc)
    account_id = account["account_id"]
    assert rpc.accounts.get_bill_delivery(account_id) == {
        "account_id": account_id, "paperless": False, "email": "ana@example.org", "changed_on": None,
        "changed_by": None}

    chosen = rpc.accounts.set_bill_delivery({"account_id": account_id, "paperless": True, "changed_by": "csr.jones"})
    again = rpc.accounts.set_bill_delivery({"account_id": account_id, "paperless": True, "changed_by": "csr.jones"})
    rpc.accounts.set_business_date("2026-05-02")
    back = rpc.accounts.set_bill_delivery({"account_id": account_id, "paperless": False, "changed_by": "csr.lee"})

    assert (chosen["paperless"], chosen["changed_on"], chosen["changed_by"]) == (True, "2026-05-01", "csr.jones")
    assert again == chosen  # the same choice again: nothing changed
    assert rpc.accounts.get_bill_delivery(account_id) == back == {
        "account_id": account_id, "paperless": False, "email": "ana@example.org", "changed_on": "2026-05-02",
        "changed_by": "csr.lee"}
    assert emitted("accounts.bill_delivery_changed.v1") == [
        {"account_id": account_id, "paperless": True, "email": "ana@example.org", "changed_on": date(2026, 5, 1),
         "revision": 1},
        {"account_id": account_id, "paperless": False, "email": "ana@example.org", "changed_on": date(2026, 5, 2),
         "revision": 2}]


def test_paperless_without_an_email_address_is_refused_naming_paperless_and_nothing_is_stored(
        running_services, rpc):
    running_services("accounts")
    customer = rpc.accounts.create_customer({"name": "Eli Navarro", "mailing_address": ADDRESS})
    rpc.accounts.create_parcel({"apn": "011-224-006", "situs_address": ADDRESS, "owner_of_record": "Eli Navarro"})
    connection = rpc.accounts.authorize_connection({"apn": "011-224-006", "authorized_meter_size": "5/8"})
    account = rpc.accounts.open_account({"customer_id": customer["customer_id"],
                                         "connection_id": connection["connection_id"]})

    with pytest.raises(InvalidInput) as error:
        rpc.accounts.set_bill_delivery({"account_id": account["account_id"], "paperless": True, "changed_by": "x"})
    assert "paperless" in error.value.args[0]
    for bad, field in (({"paperless": "sometimes"}, "paperless"), ({"changed_by": ""}, "changed_by"),
                       ({"account_id": None}, "account_id")):
        with pytest.raises(InvalidInput) as error:
            rpc.accounts.set_bill_delivery({"account_id": account["account_id"], "paperless": False,
                                            "changed_by": "x", **bad})
        assert field in error.value.args[0], bad
    with pytest.raises(NotFound):
        rpc.accounts.set_bill_delivery({"account_id": "A9999999", "paperless": False, "changed_by": "x"})
    assert rpc.accounts.get_bill_delivery(account["account_id"])["paperless"] is False
    assert emitted("accounts.bill_delivery_changed.v1") == []


def test_closing_with_a_forwarding_address_emits_account_closed_v1_unchanged_and_v2_with_the_address(
        running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-06-01")
    account, _ = open_one_account(rpc)
    rpc.accounts.set_business_date("2026-06-20")

    rpc.accounts.close_account({"account_id": account["account_id"], "closed_on": "2026-06-15",
                                "forwarding_address": FORWARDING})

    closed = {"account_id": account["account_id"], "closed_on": date(2026, 6, 15), "reason": "move_out",
              "final_read_requested": True}
    assert emitted("accounts.account_closed.v1") == [closed]
    assert emitted("accounts.account_closed.v2") == [
        {**closed, "forwarding_address": {**FORWARDING, "line2": None, "state": "CA"}}]


def test_a_v1_close_request_still_closes_with_no_forwarding_address(running_services, rpc):
    running_services("accounts")
    rpc.accounts.set_business_date("2026-06-20")
    account, _ = open_one_account(rpc)
    v1_body = get("accounts.close_account_request.v1").examples()[1]  # no closed_on: the business date
    rpc.accounts.close_account({**v1_body, "account_id": account["account_id"]})
    [v1] = emitted("accounts.account_closed.v1")
    assert emitted("accounts.account_closed.v2") == [{**v1, "forwarding_address": None}]
    assert (v1["reason"], v1["final_read_requested"]) == ("owner_request", False)


def test_a_bad_forwarding_address_names_the_field_and_closes_nothing(running_services, rpc):
    running_services("accounts")
    account, _ = open_one_account(rpc)
    with pytest.raises(InvalidInput) as error:
        rpc.accounts.close_account({"account_id": account["account_id"],
                                    "forwarding_address": {"line1": "400 Pine Ave", "city": "Fresno", "zip": "9370"}})
    assert "zip" in error.value.args[0]["forwarding_address"]
    assert rpc.accounts.get_account(account["account_id"])["status"] == "open"
    assert emitted("accounts.account_closed.v2") == []
