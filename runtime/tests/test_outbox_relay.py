"""The outbox relay: publish with confirms, mark sent, resume after a crash, keep unroutable rows."""
import json

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from cis_runtime import config
from cis_runtime.outbox import OutboxRelay
from cis_runtime.topology import EVENTS_EXCHANGE, declare, exchange

OPENED = "accounts.account_opened.v1"


def account_opened_example():
    from cis_contracts.registry import get
    return get(OPENED).schema().load(get(OPENED).examples()[0])


@pytest.fixture
def captured_queue():
    """A queue bound to account_opened events; yields a function draining it."""
    queue = Queue("relay-test", exchange=exchange(EVENTS_EXCHANGE), routing_key=OPENED, durable=False,
                  auto_delete=False)
    with Connection(config.amqp_uri()) as connection:
        declare(connection.default_channel, [queue])

        def drain():
            bodies = []
            while (message := connection.default_channel.basic_get("relay-test", no_ack=True)) is not None:
                bodies.append(json.loads(message.body))
            return bodies

        yield drain
        connection.default_channel.queue_delete("relay-test")


def emit_events(uow_factory, count):
    with uow_factory() as uow:
        ids = uow.emit_many(OPENED, [account_opened_example()] * count)
        uow.commit()
    return ids


def unsent_count(engine):
    with engine.connect() as db:
        return db.scalar(sa.text("select count(*) from outbox where sent_at is null"))


def test_relay_publishes_committed_events_in_order_and_marks_them_sent(service_db, captured_queue):
    uow_factory = service_db("accounts")
    ids = emit_events(uow_factory, 3)
    relay = OutboxRelay(uow_factory.engine, config.amqp_uri())
    try:
        assert relay.drain() == 3
    finally:
        relay.close()
    assert [body["message_id"] for body in captured_queue()] == ids
    assert unsent_count(uow_factory.engine) == 0


def test_rolled_back_work_publishes_nothing(service_db, captured_queue):
    uow_factory = service_db("accounts")
    with uow_factory() as uow:
        uow.emit(OPENED, account_opened_example())  # no commit: the state change failed
    relay = OutboxRelay(uow_factory.engine, config.amqp_uri())
    try:
        assert relay.drain() == 0
    finally:
        relay.close()
    assert captured_queue() == []


def test_a_relay_that_dies_before_marking_sent_is_resumed_and_republishes_same_message_ids(
        service_db, captured_queue, monkeypatch):
    uow_factory = service_db("accounts")
    ids = emit_events(uow_factory, 2)
    crashing = OutboxRelay(uow_factory.engine, config.amqp_uri())

    def crash_after_publishing(*args, **kwargs):
        raise RuntimeError("process killed before the sent mark committed")

    # Marking rows sent is the relay's last step; failing it models a kill after publishing.
    monkeypatch.setattr("cis_runtime.outbox.datetime", type("Killed", (), {"now": crash_after_publishing}))
    with pytest.raises(RuntimeError):
        crashing.publish_pending()
    crashing.close()
    monkeypatch.undo()
    assert unsent_count(uow_factory.engine) == 2

    resumed = OutboxRelay(uow_factory.engine, config.amqp_uri())
    try:
        assert resumed.drain() == 2
    finally:
        resumed.close()
    delivered = [body["message_id"] for body in captured_queue()]
    assert delivered == ids + ids  # at-least-once: same ids again, for consumers' inboxes to drop
    assert unsent_count(uow_factory.engine) == 0


def test_an_event_no_queue_is_bound_for_stays_in_the_outbox(service_db):
    uow_factory = service_db("accounts")
    with uow_factory() as uow:
        uow.emit(OPENED, account_opened_example())
        uow.session.execute(sa.text("update outbox set routing_key = 'nobody.listens.v1'"))
        uow.commit()
    relay = OutboxRelay(uow_factory.engine, config.amqp_uri())
    try:
        assert relay.publish_pending() == 0
    finally:
        relay.close()
    with uow_factory.engine.connect() as db:
        row = db.execute(sa.text("select sent_at, attempts, last_error from outbox")).one()
    assert row.sent_at is None and row.attempts == 1
    assert "no queue is bound" in row.last_error


def test_a_row_committed_behind_the_relays_position_is_still_published(service_db, captured_queue):
    uow_factory = service_db("accounts")
    relay = OutboxRelay(uow_factory.engine, config.amqp_uri())
    relay._after_id = 10 ** 9  # as if a later id had already gone out before this row committed
    try:
        ids = emit_events(uow_factory, 1)
        assert relay.publish_pending() == 1
    finally:
        relay.close()
    assert [body["message_id"] for body in captured_queue()] == ids
