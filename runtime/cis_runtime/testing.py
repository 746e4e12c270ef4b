"""pytest plugin: an isolated broker vhost and databases per test run, and fixtures to use them.

Broker and database come from CIS_TEST_AMQP_URI / CIS_TEST_PG_URL when given; otherwise,
when a Docker engine answers, from testcontainers; otherwise from the local services
(RabbitMQ 127.0.0.1:5672, PostgreSQL 127.0.0.1:5432). Each run gets its own vhost and
its own databases (prefix t<random>_), dropped when the run ends.
"""
import os
import shutil
import subprocess
import uuid
from urllib.parse import quote

import pytest

_run = {}


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _start_containers() -> tuple[str, str]:
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    postgres = PostgresContainer("postgres:15").start()
    rabbit = RabbitMqContainer("rabbitmq:3.12").start()
    _run["containers"] = [postgres, rabbit]
    pg = f"postgresql://{postgres.username}:{postgres.password}@{postgres.get_container_host_ip()}:" \
         f"{postgres.get_exposed_port(5432)}"
    amqp = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
    return pg, amqp


def _create_vhost(amqp_base: str, vhost: str) -> str:
    """Create a vhost with rabbitmqctl (local broker); returns the URI pointing at it."""
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    return amqp_base.rstrip("/") + "/" + quote(vhost, safe="")


def pytest_configure(config):
    if os.environ.get("CIS_TEST_RUN_ID"):  # a child process of a run already configured
        return
    run_id = uuid.uuid4().hex[:8]
    pg = os.environ.get("CIS_TEST_PG_URL")
    amqp = os.environ.get("CIS_TEST_AMQP_URI")
    if not (pg and amqp) and _docker_answers():
        pg, amqp = _start_containers()
        vhost_uri = amqp
    else:
        pg = pg or "postgresql://postgres@127.0.0.1:5432"
        amqp = amqp or "amqp://guest:guest@127.0.0.1:5672/"
        _run["vhost"] = f"cis_test_{run_id}"
        vhost_uri = _create_vhost(amqp, _run["vhost"])
    os.environ.update({"CIS_TEST_RUN_ID": run_id, "CIS_PG_URL": pg, "CIS_AMQP_URI": vhost_uri,
                       "CIS_DB_PREFIX": f"t{run_id}_", "CIS_RETRY_BASE_DELAY_MS": "100",
                       "CIS_MAX_DELIVERY_ATTEMPTS": "3"})
    _run["owner"] = True


def pytest_unconfigure(config):
    if not _run.get("owner"):
        return
    if os.environ.get("CIS_TEST_KEEP"):  # look at what a run left: databases t<run id>_*, the vhost
        print(f"\nkept: databases {os.environ['CIS_DB_PREFIX']}*, vhost {_run.get('vhost')}")
        return
    from cis_runtime import config as cis_config, db

    for service in cis_config.SERVICES_WITH_DATABASE:
        db.drop_database(cis_config.database_url(service))
    if _run.get("vhost"):
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", _run["vhost"]], capture_output=True)
    for container in _run.get("containers", []):
        container.stop()


_prepared = set()


def prepare_service_database(service: str) -> str:
    """Create and migrate `service`'s database once per run; returns its URL."""
    from cis_runtime import config, db

    if service not in _prepared:
        db.prepare_database(service)
        _prepared.add(service)
    return config.database_url(service)


def truncate_all(service: str) -> None:
    """Empty a service's tables, except alembic_version and the reference data its migrations
    seed (listed as REFERENCE_TABLES in the service's adapters.models)."""
    import importlib

    import sqlalchemy as sa

    from cis_runtime.edge.dependencies import engine_for

    models = importlib.import_module(f"cis_{service}.adapters.models")
    keep = {"alembic_version", *getattr(models, "REFERENCE_TABLES", ())}
    with engine_for(service).begin() as connection:
        tables = [t for t in connection.scalars(sa.text(
            "select tablename from pg_tables where schemaname = 'public'")).all() if t not in keep]
        if tables:
            connection.execute(sa.text("truncate " + ", ".join(f'"{t}"' for t in tables) + " cascade"))


@pytest.fixture
def service_db():
    """Factory: `service_db("billing")` gives a migrated, emptied database and its unit-of-work factory."""
    from sqlalchemy.orm import sessionmaker

    from cis_runtime.edge.dependencies import engine_for
    from cis_runtime.uow import UnitOfWork

    def make(service: str):
        prepare_service_database(service)
        truncate_all(service)
        factory = sessionmaker(bind=engine_for(service), expire_on_commit=False)
        uow_factory = lambda: UnitOfWork(factory, service)  # noqa: E731
        uow_factory.engine = engine_for(service)
        return uow_factory

    return make


@pytest.fixture
def running_services(service_db):
    """Factory: start service classes in this process (databases migrated and emptied, queues declared)."""
    from kombu import Connection
    from nameko.runners import ServiceRunner

    from cis_runtime import config
    from cis_runtime.edge import remote_errors  # noqa: F401
    from cis_runtime.edge.launch import reliable_queues, service_class
    from cis_runtime.topology import declare, external_queues

    runners = []

    def start(*services: str, before_start=None):
        """`before_start(runner, services)`: a test suite's hook to add or replace what is outside the
        services under test (e.g. a fake of another service) before the runner starts."""
        runner = ServiceRunner(config.nameko_config(services[0]))
        with Connection(config.amqp_uri()) as connection:
            for service in services:
                if service in config.SERVICES_WITH_DATABASE:
                    service_db(service)
                declare(connection.default_channel, reliable_queues(service_class(service)))
                runner.add_service(service_class(service))
            declare(connection.default_channel, external_queues())
        if before_start is not None:
            before_start(runner, services)
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()


@pytest.fixture
def rpc():
    """`rpc.billing.post_payment(...)`: a cluster RPC proxy on this run's vhost, 15 s timeout."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from cis_runtime import config
    from cis_runtime.edge import remote_errors  # noqa: F401

    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=15) as proxy:
        yield proxy


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; returns it, or fails the test."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def publish():
    """`publish(contract_name, payload)` publishes an enveloped message the way producers do
    (to the contract's exchange, routing key = name, confirmed); returns the envelope.
    `publish(contract_name, envelope=...)` publishes a ready envelope (or any JSON) as is."""
    import json

    from kombu import Connection, Producer

    from cis_contracts.envelope import make_envelope
    from cis_contracts.registry import get
    from cis_runtime import config
    from cis_runtime.topology import exchange

    connection = Connection(config.amqp_uri(), transport_options={"confirm_publish": True})
    producer = Producer(connection.channel())

    def send(name: str, payload: dict | None = None, envelope=None, producer_name: str = "test"):
        body = envelope if envelope is not None else make_envelope(name, producer_name, payload)
        ex = exchange(get(name).exchange)
        producer.publish(json.dumps(body) if not isinstance(body, (bytes, str)) else body,
                         exchange=ex, routing_key=name, declare=[ex], content_type="application/json",
                         content_encoding="utf-8", delivery_mode=2)
        return body

    yield send
    connection.release()


def dead_letters(queue_name: str) -> list:
    """Drain and return (headers, body) of every message in `queue_name`.dlq."""
    return [(message.headers, _json_or_raw(message.body)) for message in _drain(f"{queue_name}.dlq")]


def drain_queue(queue_name: str) -> list:
    """Drain and return the decoded bodies of every message in `queue_name` (e.g. a queue read by a
    system outside the suite, such as operations.work_orders)."""
    return [_json_or_raw(message.body) for message in _drain(queue_name)]


def _drain(queue_name: str) -> list:
    from kombu import Connection

    from cis_runtime import config

    found = []
    with Connection(config.amqp_uri()) as connection:
        while (message := connection.default_channel.basic_get(queue_name, no_ack=True)) is not None:
            found.append(message)
    return found


def _json_or_raw(body):
    import json

    try:
        return json.loads(body)
    except ValueError:
        return body
