"""Faults survived (issue 16): a consumer survives its broker connection being cut mid-consume and
goes on consuming; a database outage does not use up a message's attempts.

The broker and database are the machine's real ones; the faults are made by a TCP proxy between
the service and them that the test cuts (restarting the shared RabbitMQ/PostgreSQL is not allowed).
"""
import socket
from urllib.parse import urlsplit, urlunsplit

import eventlet
import sqlalchemy as sa
from nameko.runners import ServiceRunner

from cis_runtime import config
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, engine_for
from cis_runtime.edge.launch import reliable_queues
from cis_runtime.testing import dead_letters, wait_for

OPENED = "accounts.account_opened.v1"
handled = []
busy_seconds = 0.0


class TcpProxy:
    """Forwards a local port to `target`; `cut()` resets every open connection, `refuse()` makes new
    connections fail at once until `restore()`."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        self.refusing = False
        self.cuts = 0
        self.thread = eventlet.spawn(self._accept)

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if self.refusing:
                _reset(client)
                continue
            try:
                upstream = eventlet.connect(self.target)
            except OSError:
                _reset(client)
                continue
            self.pairs.append((client, upstream))
            eventlet.spawn(self._pipe, client, upstream)
            eventlet.spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except (OSError, EOFError, RuntimeError):  # closed under us by cut()
            pass
        for sock in (source, sink):
            try:
                sock.close()
            except OSError:
                pass

    def cut(self):
        pairs, self.pairs = self.pairs, []
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)
        self.cuts += 1
        return len(pairs)

    def refuse(self):
        self.refusing = True
        self.cut()

    def restore(self):
        self.refusing = False

    def close(self):
        self.thread.kill()
        self.cut()
        self.listener.close()


def _reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    except OSError:
        pass


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


class Busy:
    name = "faultprobe"
    db = Database(service="accounts")

    @reliable_handler(OPENED)
    def on_account_opened(self, envelope, payload):
        handled.append(envelope["message_id"])
        eventlet.sleep(busy_seconds)  # busy when the connection is cut
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "faultprobe.on_account_opened", OPENED):
                return
            uow.session.execute(sa.text(
                "insert into customers (customer_id, name, mailing_address, preferred_language) "
                "values (:id, :name, '{}', 'en')"), {"id": payload["account_id"], "name": payload["customer_name"]})
            uow.commit()


def opened(name, account_id):
    from cis_contracts.registry import get
    payload = dict(get(OPENED).examples()[0])
    payload.update(customer_name=name, account_id=account_id)
    return payload


def stored_customers():
    with engine_for("accounts").connect() as db:
        return db.scalars(sa.text("select name from customers order by name")).all()


def start_busy(monkeypatch, service_db, amqp_uri=None, db_url=None):
    from kombu import Connection
    from cis_runtime.topology import declare

    service_db("accounts")
    handled.clear()
    with Connection(config.amqp_uri()) as connection:
        declare(connection.default_channel, reliable_queues(Busy))
        for suffix in ("", ".retry", ".dlq"):
            connection.default_channel.queue_purge("faultprobe.on_account_opened" + suffix)
    if amqp_uri:
        monkeypatch.setenv("CIS_AMQP_URI", amqp_uri)
    if db_url:
        monkeypatch.setenv("ACCOUNTS_DATABASE_URL", db_url)
    runner = ServiceRunner(config.nameko_config("faultprobe"))
    runner.add_service(Busy)
    runner.start()
    [container] = runner.containers
    return runner, container


def test_a_consumer_survives_its_broker_connection_cut_while_busy_and_goes_on_consuming(
        monkeypatch, service_db, publish):
    global busy_seconds
    broker = urlsplit(config.amqp_uri())
    proxy = TcpProxy(broker.hostname, broker.port or 5672)
    busy_seconds = 1.0
    runner, container = start_busy(monkeypatch, service_db, amqp_uri=_via(config.amqp_uri(), proxy.port))
    monkeypatch.delenv("CIS_AMQP_URI")  # the test publishes straight to the broker
    monkeypatch.setenv("CIS_AMQP_URI", urlunsplit(broker))
    try:
        for n in range(3):
            publish(OPENED, opened(f"before {n}", f"A000000{n}"))
        wait_for(lambda: len(handled) >= 3, message="handlers busy")
        for _ in range(3):  # three cuts, each while handlers are busy (the issue saw 3 deaths in 6)
            assert proxy.cut() >= 1
            eventlet.sleep(1.5)  # handlers finish and ack on the dead socket meanwhile
            assert not container._died.ready(), "the container died on a lost connection"
        busy_seconds = 0.0
        publish(OPENED, opened("after the cuts", "A0000009"))
        wait_for(lambda: stored_customers() == ["after the cuts", "before 0", "before 1", "before 2"],
                 timeout=30, message="every message applied once after reconnecting")
        assert not container._died.ready()
        assert dead_letters("faultprobe.on_account_opened") == []
    finally:
        busy_seconds = 0.0
        runner.stop()
        proxy.close()


def test_a_database_outage_longer_than_every_attempt_does_not_dead_letter_the_message(
        monkeypatch, service_db, publish):
    db = sa.engine.make_url(config.database_url("accounts"))
    service_db("accounts")
    proxy = TcpProxy(db.host, db.port or 5432)
    db_url = db.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    runner, container = start_busy(monkeypatch, service_db, db_url=db_url)
    try:
        proxy.refuse()  # the database is down: every connection is refused
        envelope = publish(OPENED, opened("during the outage", "A0000001"))
        # 3 attempts at 100/200 ms back-off would be spent in well under a second; wait 4 s
        wait_for(lambda: handled.count(envelope["message_id"]) >= 5, message="retried through the outage")
        eventlet.sleep(2)
        assert dead_letters("faultprobe.on_account_opened") == []
        proxy.restore()
        monkeypatch.delenv("ACCOUNTS_DATABASE_URL")
        wait_for(lambda: stored_customers() == ["during the outage"], timeout=30,
                 message="applied once the database is back")
        assert dead_letters("faultprobe.on_account_opened") == []
        assert not container._died.ready()
    finally:
        runner.stop()
        proxy.close()
