"""The simulation's plumbing: an isolated broker vhost and databases, every service as its own OS
process (cis_runtime.suite.Suite, as bin/demo and the e2e tests start them), a counting SMTP sink, the
mail-house drop directory, an HTTP client for the gateway, an AMQP publisher for the inbound exchanges,
an observer queue on cis.events, and "drained" (nothing queued, every outbox row published, nothing moving).

Driving goes through public interfaces only; `query` reads a service database for checks (read-only).
"""
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Producer, Queue, binding

SERVICES_WITH_DATABASE = ("accounts", "metering", "billing", "collections", "notifications")
OBSERVER_QUEUE = "simulation.observer"
# queues read by District systems outside the suite (cis_contracts external_queue): the sim plays
# operations (work orders, meter alerts) and the county recorder, so they are not the suite's backlog
EXTERNAL_QUEUES = ("operations.work_orders", "operations.meter_alerts", "county.recorder")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolate_run() -> dict:
    """Own vhost and database prefix, as cis_runtime.testing does for pytest (copied here so the
    benchmark runs outside pytest). Under pytest the plugin has done it already: reuse that."""
    if os.environ.get("CIS_TEST_RUN_ID"):
        return {}
    run_id = uuid.uuid4().hex[:8]
    vhost = f"cis_sim_{run_id}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    amqp = os.environ.get("CIS_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    os.environ.update({"CIS_TEST_RUN_ID": run_id, "CIS_PG_URL": os.environ.get(
        "CIS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        "CIS_AMQP_URI": amqp.rstrip("/") + "/" + quote(vhost, safe=""), "CIS_DB_PREFIX": f"s{run_id}_",
        "CIS_RETRY_BASE_DELAY_MS": "100", "CIS_MAX_DELIVERY_ATTEMPTS": "3"})
    return {"vhost": vhost}


def drop_isolated(owned: dict) -> None:
    if not owned:
        return
    from cis_runtime import config, db

    for service in config.SERVICES_WITH_DATABASE:  # the gateway's too
        db.drop_database(config.database_url(service))
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", owned["vhost"]], capture_output=True)


class CountingMailbox:
    """SMTP handler that keeps only who got how many messages (a year of bills is a lot of mail)."""

    def __init__(self):
        self.count = 0
        self.by_recipient: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            for to in envelope.rcpt_tos:
                self.by_recipient[to] = self.by_recipient.get(to, 0) + 1
        return "250 OK"


class Api:
    """The gateway's JSON API, called with an API token (the suite runner's). Raises ApiError with status
    and body on an unexpected status."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.token = token
        self.local = threading.local()
        self.calls = 0

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.local.session

    def __call__(self, method: str, path: str, body=None, expect=(200, 201)):
        self.calls += 1
        for attempt in range(6):
            response = self.session().request(method, self.base + path, json=body, timeout=180)
            if not self.infrastructure_fault(response):
                break
            time.sleep(0.5 * 2 ** attempt)  # the shared database was full: the request did nothing, ask again
        if response.status_code not in expect:
            raise ApiError(method, path, response.status_code, response.text)
        return response.json()

    infrastructure_fault = staticmethod(lambda response: False)  # the Harness tells (from the services' logs)


class ApiError(Exception):
    def __init__(self, method, path, status, text):
        super().__init__(f"{method} {path}: {status} {text[:500]}")
        self.status = status
        self.text = text


class Harness:
    def __init__(self, work_dir: Path, env: dict | None = None):
        from cis_runtime.suite import Suite

        self.work_dir = Path(work_dir)
        self.owned = isolate_run()
        from aiosmtpd.controller import Controller

        self.mailbox = CountingMailbox()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.mail_drop = self.work_dir / "mail-drop"
        self.suite = Suite(self.work_dir / "logs", {
            "CIS_GATEWAY_PORT": str(free_port()), "CIS_SMTP_HOST": "127.0.0.1", "CIS_SMTP_PORT": str(self.smtp.port),
            "CIS_MAIL_DROP_DIR": str(self.mail_drop), "CIS_COLLECTIONS_POLL_SECONDS": "3600",
            "CIS_BILL_RUN_POLL_SECONDS": "0.2", "CIS_RPC_TIMEOUT": "120", "CIS_LOG_LEVEL": "WARNING",
            # an email the relay claimed but could not finish (the database refused it a connection) waits this
            # long before it is sent again with its Message-ID; the SMTP sink answers at once (default 15 minutes)
            "CIS_EMAIL_RESEND_AFTER_SECONDS": "30",
            **(env or {})})
        self.api = Api(self.suite.gateway_url + "/api", self.suite.api_token)
        self.api.infrastructure_fault = self.database_was_full
        self.infrastructure_retries = 0
        self.engines: dict[str, sa.Engine] = {}
        self.queues: list[str] = []
        self.external: set[str] = set()
        self.amqp = None
        self.producer = None
        self.drain_stats = Counter()  # where draining's time goes (the report prints it)

    def database_was_full(self, response) -> bool:
        """A 503 service_unavailable: the gateway says a service (or the gateway) could not reach its
        database - the server's connections may be shared with other runs - and that nothing was done,
        so the call is safe to repeat (counted in the report). Any 500 is a finding."""
        try:
            refused = response.status_code == 503 and response.json().get("error") == "service_unavailable"
        except ValueError:
            return False
        self.infrastructure_retries += refused
        return refused

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.suite.prepare()
        self._declare_observer()
        self.suite.start_all()
        self.queues = self._queue_names()
        self.amqp = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
        self.producer = Producer(self.amqp.channel())

    def stop(self) -> None:
        try:
            self.suite.stop()
        finally:
            if self.amqp is not None:
                self.amqp.release()
            for engine in self.engines.values():
                engine.dispose()
            self.smtp.stop()
            if not os.environ.get("CIS_TEST_KEEP"):
                drop_isolated(self.owned)

    @property
    def amqp_uri(self) -> str:
        from cis_runtime import config

        return config.amqp_uri()

    # --- AMQP: the head-end, operations, and an observer of the events -----------------------

    def publish(self, exchange: str, routing_key: str, envelope: dict) -> None:
        ex = Exchange(exchange, type="topic", durable=True)
        self.producer.publish(json.dumps(envelope), exchange=ex, routing_key=routing_key, declare=[ex],
                              content_type="application/json", content_encoding="utf-8", delivery_mode=2)

    @staticmethod
    def envelope(message_type: str, key: str, payload: dict, producer: str) -> dict:
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message_type}:{key}"))  # same key, same id
        return {"message_id": message_id, "type": message_type.rsplit(".", 1)[0], "version": 1,
                "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": producer,
                "correlation_id": message_id, "payload": payload}

    def _declare_observer(self) -> None:
        """A queue of our own bound to every event, declared before anything publishes: the sim
        reads bills, notices and orders as any District system subscribed to cis.events would."""
        events = Exchange("cis.events", type="topic", durable=True)
        with Connection(self.amqp_uri) as connection:
            Queue(OBSERVER_QUEUE, bindings=[binding(events, routing_key="#")], durable=True)(
                connection.default_channel).declare()

    def take(self, queue: str) -> list[dict]:
        """Everything waiting in `queue` (acknowledged as taken)."""
        found = []
        channel = self.amqp.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            found.append(json.loads(message.body))
        return found

    def _queue_names(self) -> list[str]:
        vhost = os.environ["CIS_AMQP_URI"].rsplit("/", 1)[1]
        from urllib.parse import unquote

        listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", unquote(vhost) or "/", "name"],
                                check=True, capture_output=True, text=True).stdout.split()
        self.external = {q for q in listed if q in EXTERNAL_QUEUES}
        return sorted(q for q in listed if q != "name" and not q.startswith("amq.") and q != OBSERVER_QUEUE
                      and not q.startswith(("rpc-", "rpc.")) and q.split(".retry")[0].split(".dlq")[0] not in EXTERNAL_QUEUES)

    def queued(self, first_only: bool = False) -> dict[str, int]:
        """Ready messages per suite queue (retry queues included, dead letters counted separately).
        `first_only`: stop at the first queue holding any (a busy look need not count them all)."""
        counts = {}
        channel = self.amqp.default_channel
        for name in self.queues:
            if name.endswith(".dlq"):
                continue
            _, count, _ = channel.queue_declare(name, passive=True)
            if count:
                counts[name] = count
                if first_only:
                    break
        return counts

    # --- databases (checks only) -----------------------------------------------------------------

    def engine(self, service: str) -> sa.Engine:
        if service not in self.engines:
            from cis_runtime import config

            self.engines[service] = sa.create_engine(config.database_url(service), pool_size=2)
        return self.engines[service]

    def query(self, service: str, sql: str, **params) -> list:
        with self.engine(service).connect() as db:
            return db.execute(sa.text(sql), params).all()

    def _progress(self) -> tuple:
        """(Work visibly pending, the count of outbox and inbox rows in every database). Pending: outbox
        rows unsent, emails not yet sent, and connections of the suite's processes busy in a statement
        or a transaction. The broker's ready count does not show a message a consumer holds unacked
        while it works on it; its open transaction does. Without this look, the 1,000-account year in
        CI found an AMI batch "never stored" on 2027-07-30 that was stored a little later (the final
        count of reads agreed)."""
        from cis_runtime import config

        databases = [config.database_name(service) for service in config.SERVICES_WITH_DATABASE]
        [(busy,)] = self.query("metering", "select count(*) from pg_stat_activity where datname = any(:databases) "
                                           "and pid <> pg_backend_pid() and state <> 'idle' "
                                           "and backend_type = 'client backend'", databases=databases)
        unsent, rows = busy, []
        for service in SERVICES_WITH_DATABASE:
            [(u, o, i)] = self.query(service, "select (select count(*) from outbox where sent_at is null), "
                                              "(select count(*) from outbox), (select count(*) from inbox)")
            unsent += u
            rows += [o, i]
        # an email is recorded in the consumer's transaction and sent after it by notifications' relay
        [(pending,)] = self.query("notifications", "select count(*) from deliveries where status = 'pending'")
        return unsent + pending, tuple(rows)

    def drain(self, timeout: float = 120, settle: float = 0.15, poll: float = 0.15) -> float:
        """Wait until nothing is queued, every outbox row is published, and two looks `settle`
        seconds apart see the same outbox and inbox counts (no consumer mid-message). While work is
        visibly moving it looks every `poll` seconds. A shorter poll (30 ms) ended drains while a
        consumer was mid-message under load (the last activity seen only ~0.18 s before the end
        instead of ~0.3 s): the 100-account year then found an unsent billing outbox row and three
        collections differences on 2026-12-23, gone the next day. A consumer mid-message shows as a busy
        connection (`_progress`)."""
        started = time.monotonic()
        previous, quiet_since = None, None
        stats = self.drain_stats
        stats["drains"] += 1
        while True:
            looked = time.monotonic()
            # the databases first: while work shows there, the queues need no look (a round trip each);
            # the queues are looked at only to confirm a quiet the databases showed twice
            unsent, rows = self._progress()
            queued = not unsent and rows == previous and self.queued(first_only=True)
            now = time.monotonic()
            stats["looks"] += 1
            stats["look_seconds"] += now - looked
            if not unsent and rows == previous and not queued:
                stats["busy_seconds"] += quiet_since - started
                stats["settle_seconds"] += now - quiet_since
                return now - started
            if unsent or queued:  # a message still waits: the next quiet needs two looks again
                previous, quiet_since = None, None
            else:
                previous, quiet_since = rows, looked
            if now - started > timeout:
                raise TimeoutError(f"not drained after {timeout}s: queued {self.queued()}, "
                                   f"unsent outbox rows and emails {unsent}")
            time.sleep(settle if previous is not None else poll)

    def dead_letters(self) -> dict[str, int]:
        counts = {}
        channel = self.amqp.default_channel
        for name in self.queues:
            if name.endswith(".dlq"):
                _, count, _ = channel.queue_declare(name, passive=True)
                if count:
                    counts[name] = count
        return counts
