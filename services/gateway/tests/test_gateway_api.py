"""The HTTP JSON API staff and District systems use, through the real gateway and accounts service."""
import time

import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue

from cis_runtime import config
from cis_runtime.edge.dependencies import engine_for
from gateway_client import ADDRESS, open_account_over_http, post


def test_creating_customer_parcel_connection_and_account_answers_201_and_the_account_reads_back(gateway):
    base, http = gateway("accounts")
    responses = open_account_over_http(http, base)

    assert [r.status_code for r in responses] == [201, 201, 201, 201]
    account = responses[3].json()
    fetched = http.get(f"{base}/api/accounts/{account['account_id']}", timeout=20)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"].startswith("application/json")
    assert fetched.json() == account
    assert fetched.json()["customer"]["name"] == "Ana Reyes"
    assert fetched.json()["parcel"]["apn"] == "011-222-333"
    listed = http.get(f"{base}/api/accounts", timeout=20).json()
    assert listed == [{"account_id": account["account_id"], "status": "open", "name": "Ana Reyes",
                       "apn": "011-222-333"}]


def test_invalid_body_answers_400_naming_every_bad_field(gateway):
    base, http = gateway("accounts")
    response = post(http, base, "/api/parcels", {"apn": "11-22", "situs_address": {"city": "Ojai"},
                                           "owner_of_record": "X"})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body["message"]
    assert "apn" in body["fields"]
    assert set(body["fields"]["situs_address"]) == {"line1", "zip"}


def test_an_empty_body_is_invalid_input_naming_the_required_fields(gateway):
    base, http = gateway("accounts")
    response = http.post(f"{base}/api/customers", timeout=20)

    assert response.status_code == 400
    assert {"name", "mailing_address"} <= set(response.json()["fields"])


def test_malformed_json_answers_400_malformed_json(gateway):
    base, http = gateway("accounts")
    response = http.post(f"{base}/api/customers", data=b'{"name": "Ana', timeout=20,
                         headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert response.json()["message"]
    nested = http.post(f"{base}/api/customers", data=b"[" * 50_000 + b"]" * 50_000, timeout=20,
                       headers={"Content-Type": "application/json"})  # a 500 (RecursionError) before
    assert (nested.status_code, nested.json()["error"]) == (400, "malformed_json")


def test_unknown_account_answers_404(gateway):
    base, http = gateway("accounts")
    response = http.get(f"{base}/api/accounts/A-404", timeout=20)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "account A-404 not found"}


def test_unknown_api_url_answers_json_404(gateway):
    base, http = gateway("accounts")
    response = http.get(f"{base}/api/nowhere", timeout=20)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_second_open_account_on_one_connection_answers_409(gateway):
    base, http = gateway("accounts")
    customer, _, connection, _ = open_account_over_http(http, base)
    again = post(http, base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                         "connection_id": connection.json()["connection_id"]})

    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert connection.json()["connection_id"] in again.json()["message"]


def rpc_queue(service: str) -> Queue:
    """The durable queue nameko's RPC consumer of `service` reads (it outlives the service)."""
    return Queue(f"rpc-{service}", exchange=Exchange("nameko-rpc", type="topic", durable=True),
                 routing_key=f"{service}.*", durable=True)


@pytest.fixture
def billing_never_ran():
    """No RPC queue for billing, even if another test in this run started billing."""
    with Connection(config.amqp_uri()) as connection:
        rpc_queue("billing")(connection.default_channel).delete()


@pytest.fixture
def collections_queue_without_consumer():
    """An RPC queue for collections that nobody consumes: a stopped (or hung) service."""
    with Connection(config.amqp_uri()) as connection:
        rpc_queue("collections")(connection.default_channel).declare()
    yield
    with Connection(config.amqp_uri()) as connection:
        rpc_queue("collections")(connection.default_channel).delete()


def test_a_service_that_never_ran_answers_503_at_once(gateway, billing_never_ran):
    base, http = gateway("accounts")
    started = time.monotonic()
    response = http.get(f"{base}/api/accounts/A-1/statement", timeout=20)

    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert "billing" in response.json()["message"]
    assert time.monotonic() - started < 2


def test_a_service_that_does_not_answer_gives_504_after_the_rpc_timeout(gateway, collections_queue_without_consumer):
    base, http = gateway("accounts")
    started = time.monotonic()
    response = http.get(f"{base}/api/accounts/A-1/collections", timeout=20)

    assert response.status_code == 504
    assert response.json()["error"] == "service_timeout"
    assert 1.5 < time.monotonic() - started < 6


def test_the_callers_correlation_id_is_echoed_and_reaches_the_emitted_event(gateway):
    base, http = gateway("accounts")
    customer, _, connection, _ = open_account_over_http(http, base, apn="011-222-444")
    customer2 = post(http, base, "/api/customers", {"name": "Bo Li", "mailing_address": ADDRESS})
    connection2 = post(http, base, "/api/connections", {"apn": "011-222-444", "authorized_meter_size": "1"})
    opened = post(http, base, "/api/accounts", {"customer_id": customer2.json()["customer_id"],
                                          "connection_id": connection2.json()["connection_id"]},
                  headers={"X-Correlation-Id": "desk-7-req-42"})

    assert opened.status_code == 201
    assert opened.headers["X-Correlation-Id"] == "desk-7-req-42"
    assert customer.headers["X-Correlation-Id"]  # a fresh one when the caller gave none
    with engine_for("accounts").connect() as db:
        envelopes = list(db.scalars(sa.text("select envelope from outbox order by id")))
    assert [e["correlation_id"] for e in envelopes][-1] == "desk-7-req-42"


def test_healthz(gateway):
    base, http = gateway()
    response = http.get(f"{base}/healthz", timeout=20)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_bad_business_date_answers_400_naming_the_field(gateway):
    base, http = gateway("accounts")
    response = http.put(f"{base}/api/business-date", json={"business_date": "2026-02-30"}, timeout=20)
    # Every service validates the date the same way; the first failure in call order (accounts) answers.
    assert response.status_code == 400
    assert "business_date" in response.json()["fields"]
    for body in (20260230, ["2026-02-28"], {"business_date": 20260228}, {"business_date": ["2026-02-28"]}):
        refused = http.put(f"{base}/api/business-date", json=body, timeout=20)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_input"), (body, refused.text)
