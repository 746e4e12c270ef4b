"""The gateway (the Flask app) on a free port, in-process with the services a test asks for, on real
RabbitMQ/PostgreSQL, and its own database."""
import socket

import pytest

RPC_TIMEOUT_SECONDS = "2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def gateway_store():
    """The gateway's own database, migrated once per run and dropped at the end."""
    from cis_gateway.adapters.store import Store
    from cis_runtime import config, db

    url = config.database_url("gateway")
    db.prepare_database("gateway", url)
    engine = db.make_engine(url, pool_size=2)
    yield Store(engine)
    engine.dispose()
    db.drop_database(url)


@pytest.fixture
def fresh_store(gateway_store):
    import sqlalchemy as sa

    with gateway_store.engine.begin() as connection:
        connection.execute(sa.text("alter table audit_log disable trigger audit_log_no_change"))
        connection.execute(sa.text("truncate staff_users, api_tokens, audit_log"))
        connection.execute(sa.text("alter table audit_log enable trigger audit_log_no_change"))
    return gateway_store


@pytest.fixture
def web_app(fresh_store, monkeypatch):
    from cis_gateway.web import create_app

    monkeypatch.setenv("CIS_RPC_TIMEOUT", RPC_TIMEOUT_SECONDS)
    return create_app(store=fresh_store, secret_key="test-secret")


@pytest.fixture
def web_gateway(web_app, running_services):
    """`web_gateway("accounts")`: those services in-process and the Flask app on a free port; returns
    (base URL, an administrator's API token)."""
    import threading

    from werkzeug.serving import make_server

    servers = []

    def start(*services: str):
        if services:
            running_services(*services)
        server = make_server("127.0.0.1", free_port(), web_app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        token = web_app.extensions["cis_store"].create_token("tests", "administrator")
        return f"http://127.0.0.1:{server.server_port}", token

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def gateway(web_gateway):
    """`base, http = gateway("accounts")`: the gateway with those services, and an HTTP session carrying an
    administrator's API token (as another District system calls the API)."""
    import requests

    def start(*services: str):
        base, token = web_gateway(*services)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        return base, http

    return start
