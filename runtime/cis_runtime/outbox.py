"""The outbox relay: publishes committed outbox rows with publisher confirms, then marks them sent.

Runs inside each publishing service (started by the nameko edge) and can be run alone.
A crash between publish and mark leaves the row unsent, so it is published again after
restart: delivery is at-least-once and consumers de-duplicate by message_id (the inbox).
A message the broker returns as unroutable stays in the outbox and is retried with back-off.
"""
import json
import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from kombu import Connection, Producer

from cis_runtime.topology import exchange
from cis_runtime.uow import OUTBOX

log = logging.getLogger(__name__)

BATCH = 500


class Unroutable(Exception):
    pass


class OutboxRelay:
    def __init__(self, engine: sa.Engine, amqp_uri: str):
        self.engine = engine
        self.amqp_uri = amqp_uri
        self._connection = None
        self._producer = None
        self._returned: list = []

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                          heartbeat=0)
            channel = self._connection.channel()
            self._producer = Producer(channel, on_return=self._on_return)
        return self._producer

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned.append(routing_key)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = self._producer = None

    def publish_pending(self, limit: int = BATCH) -> int:
        """Publish up to `limit` due rows in id order; returns how many were marked sent."""
        with self.engine.begin() as db:
            rows = db.execute(
                sa.select(OUTBOX.c.id, OUTBOX.c.exchange, OUTBOX.c.routing_key, OUTBOX.c.envelope,
                          OUTBOX.c.attempts)
                .where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.next_attempt_at <= sa.func.now())
                .order_by(OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True)).all()
            if not rows:
                return 0
            sent_ids = []
            for row in rows:
                try:
                    self._publish(row)
                    sent_ids.append(row.id)
                except Unroutable as exc:
                    self._postpone(db, row, str(exc))
                except Exception:
                    self.close()
                    raise
            if sent_ids:
                db.execute(OUTBOX.update().where(OUTBOX.c.id.in_(sent_ids))
                           .values(sent_at=datetime.now(timezone.utc)))
            return len(sent_ids)

    def _publish(self, row) -> None:
        producer = self._ensure_producer()
        self._returned.clear()
        envelope = row.envelope
        producer.publish(
            json.dumps(envelope), exchange=exchange(row.exchange), routing_key=row.routing_key,
            content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            mandatory=True, message_id=envelope["message_id"], correlation_id=envelope["correlation_id"],
            type=row.routing_key, declare=[exchange(row.exchange)], retry=False)
        # With confirms on, a basic.return arrives before the ack, so it is known by now.
        if self._returned:
            raise Unroutable(f"no queue is bound for {row.routing_key} on {row.exchange}")

    @staticmethod
    def _postpone(db, row, error: str) -> None:
        delay = min(2 ** row.attempts, 300)
        log.warning("outbox row %s postponed %ss: %s", row.id, delay, error)
        db.execute(OUTBOX.update().where(OUTBOX.c.id == row.id).values(
            attempts=row.attempts + 1, last_error=error,
            next_attempt_at=datetime.now(timezone.utc) + timedelta(seconds=delay)))

    def drain(self) -> int:
        total = 0
        while (published := self.publish_pending()):
            total += published
        return total
