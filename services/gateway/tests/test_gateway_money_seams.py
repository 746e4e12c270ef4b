"""The gateway endpoints of issue 9 on the real services: the customer's bill delivery choice, the move-out's
forwarding address, and the collections daily run that may run again the same day. Bad input is a 400 naming
the field, through the one error table."""

from cis_contracts.registry import get
from gateway_client import ADDRESS, open_account_over_http, post

FORWARDING = {"line1": "400 Pine Ave", "city": "Fresno", "state": "CA", "zip": "93701"}


def put(http, base, path, body):
    return http.put(base + path, json=body, timeout=20)


def test_staff_switch_a_customer_to_paperless_and_it_reads_back_changed_by_the_caller(gateway):
    base, http = gateway("accounts")
    account_id = open_account_over_http(http, base)[3].json()["account_id"]
    path = f"/api/accounts/{account_id}/bill-delivery"

    before = http.get(base + path, timeout=20)
    assert before.status_code == 200, before.text
    assert before.json()["paperless"] is False  # every bill is mailed unless the customer chose otherwise

    chosen = put(http, base, path, {"paperless": True, "changed_by": "csr.jones"})
    assert chosen.status_code == 200, chosen.text
    assert get("accounts.bill_delivery.v1").schema().validate(chosen.json()) == {}
    assert (chosen.json()["account_id"], chosen.json()["paperless"], chosen.json()["email"],
            chosen.json()["changed_by"]) == (account_id, True, "ana@example.org", "system:tests")  # not the body's
    assert http.get(base + path, timeout=20).json() == chosen.json()


def test_a_bad_bill_delivery_choice_is_a_400_naming_each_field(gateway):
    base, http = gateway("accounts")
    account_id = open_account_over_http(http, base)[3].json()["account_id"]

    response = put(http, base, f"/api/accounts/{account_id}/bill-delivery", {"paperless": "sometimes"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert set(response.json()["fields"]) == {"paperless"}  # changed_by is the caller's, set by the gateway
    not_an_object = put(http, base, f"/api/accounts/{account_id}/bill-delivery", ["paperless"])
    assert not_an_object.status_code == 400 and not_an_object.json()["error"] == "invalid_input"
    unknown = http.get(base + "/api/accounts/A9999999/bill-delivery", timeout=20)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_paperless_without_an_email_address_is_refused_naming_the_field(gateway):
    base, http = gateway("accounts")
    customer = post(http, base, "/api/customers", {"name": "Bo Li", "mailing_address": ADDRESS})  # no email
    post(http, base, "/api/parcels", {"apn": "011-222-666", "situs_address": ADDRESS, "owner_of_record": "Bo Li"})
    connection = post(http, base, "/api/connections", {"apn": "011-222-666", "authorized_meter_size": "5/8"})
    account_id = post(http, base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                              "connection_id": connection.json()["connection_id"]}).json()["account_id"]

    response = put(http, base, f"/api/accounts/{account_id}/bill-delivery", {"paperless": True, "changed_by": "csr.jones"})

    assert response.status_code == 400, response.text
    assert {"paperless", "email"} & set(response.json()["fields"])


def test_a_move_out_gives_the_forwarding_address_and_a_bad_one_is_named(gateway):
    base, http = gateway("accounts")
    account_id = open_account_over_http(http, base)[3].json()["account_id"]
    path = f"/api/accounts/{account_id}/closing"

    bad = post(http, base, path, {"reason": "move_out", "forwarding_address": {"line1": "400 Pine Ave"}})
    assert bad.status_code == 400
    assert {"city", "zip"} <= set(bad.json()["fields"]["forwarding_address"])
    assert http.get(f"{base}/api/accounts/{account_id}", timeout=20).json()["status"] == "open"  # nothing stored

    closed = post(http, base, path, {"reason": "move_out", "forwarding_address": FORWARDING})
    assert (closed.status_code, closed.json()["status"]) == (200, "closed"), closed.text


def test_the_daily_run_answers_the_v2_summary_and_can_run_again_the_same_day(gateway):
    base, http = gateway("collections", "billing")  # collections checks its view against billing's ledger
    first = post(http, base, "/api/collections/daily-run", None)
    again = post(http, base, "/api/collections/daily-run", None)

    assert (first.status_code, again.status_code) == (200, 200), again.text
    schema = get("collections.daily_run.v2").schema()
    assert schema.validate(first.json()) == {} and schema.validate(again.json()) == {}
    assert again.json()["run_number"] == first.json()["run_number"] + 1
    assert again.json()["business_date"] == first.json()["business_date"]
