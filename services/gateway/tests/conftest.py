"""The gateway on a free port, in-process with the services a test asks for, on real RabbitMQ/PostgreSQL."""
import socket

import pytest

RPC_TIMEOUT_SECONDS = "2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gateway(running_services, monkeypatch):
    """`gateway("accounts")` starts the gateway with those services; returns its base URL."""

    def start(*services: str) -> str:
        port = free_port()
        # Read when the containers are built, so they must be set before starting.
        monkeypatch.setenv("CIS_GATEWAY_PORT", str(port))
        monkeypatch.setenv("CIS_RPC_TIMEOUT", RPC_TIMEOUT_SECONDS)
        running_services("gateway", *services)
        return f"http://127.0.0.1:{port}"

    return start
