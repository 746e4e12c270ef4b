"""The outbox relay: publishes committed outbox rows with publisher confirms, then marks them sent.

Runs inside each publishing service (started by the nameko edge) and can be run alone.
Messages are published a batch at a time and the batch's confirms awaited together.
A crash between publish and mark leaves the row unsent, so it is published again after
restart: delivery is at-least-once and consumers de-duplicate by message_id (the inbox).
A message the broker returns as unroutable stays in the outbox and is retried with back-off.
"""
import logging
import socket
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from amqp import Message
from kombu import Connection

from cis_runtime.uow import OUTBOX

log = logging.getLogger(__name__)

BATCH = 1000
RESCAN_EVERY = 10
RELAY_LOCK_KEY = 7_201_998  # advisory lock id shared by every relay of one database


class Unroutable(Exception):
    pass


class PublishNotConfirmed(Exception):
    pass


class OutboxRelay:
    """Publishes a batch of rows, then waits for the broker's confirms of the whole batch
    (one round trip per batch, not per message), then marks the confirmed rows sent."""

    confirm_timeout = 30

    def __init__(self, engine: sa.Engine, amqp_uri: str):
        self.engine = engine
        self.amqp_uri = amqp_uri
        self._connection = None
        self._channel = None
        self._declared: set[str] = set()
        # Keyset position: scanning from the last published id skips the index entries of rows
        # already sent (dead until vacuum), which made each batch slower than the one before.
        self._after_id = 0
        self._batches = 0

    def _ensure_channel(self):
        if self._channel is None:
            self._connection = Connection(self.amqp_uri, heartbeat=0)
            channel = self._connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._channel, self._next_tag, self._declared = channel, 1, set()
        return self._channel

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, acked=True)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, acked=False)

    def _settle(self, delivery_tag, multiple, acked):
        tags = [t for t in self._pending if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            row_id = self._pending.pop(tag, None)
            if row_id is not None and not acked:
                self._failed[row_id] = "the broker refused the message (nack)"

    def _on_return(self, exception, exchange, routing_key, message):
        # A basic.return precedes the ack of the same message, so the row is known as unroutable
        # by the time the batch is confirmed.
        row_id = self._row_by_message_id.get(message.properties.get("message_id"))
        if row_id is not None:
            self._failed[row_id] = f"no queue is bound for {routing_key} on {exchange}"

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # closing a broken connection must not hide the original error
                log.debug("closing the relay's connection failed", exc_info=True)
        self._connection = self._channel = None

    def publish_pending(self, limit: int = BATCH) -> int:
        """Publish up to `limit` due rows in id order; returns how many were confirmed and marked sent.

        When nothing is due past the keyset position, and every RESCAN_EVERY batches in any case,
        it starts again from the beginning: a postponed row is retried once due, and a row whose
        transaction committed after a higher id was published is not left behind for long."""
        self._batches += 1
        if self._batches % RESCAN_EVERY == 0:
            self._after_id = 0
        published = self._publish_after(self._after_id, limit)
        if published is None and self._after_id:
            self._after_id = 0
            published = self._publish_after(0, limit)
        return published or 0

    def _publish_after(self, after_id: int, limit: int) -> int | None:
        with self.engine.begin() as db:
            # One relay per database at a time (a transaction-scoped advisory lock) instead of
            # row locks: locking each row cost a second write of every outbox row.
            if not db.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))):
                return 0
            rows = db.execute(
                sa.select(OUTBOX.c.id, OUTBOX.c.message_id, OUTBOX.c.exchange, OUTBOX.c.routing_key,
                          # as text: the body goes out as stored, without a JSON round trip
                          sa.cast(OUTBOX.c.envelope, sa.Text).label("body"),
                          OUTBOX.c.envelope["correlation_id"].astext.label("correlation_id"),
                          OUTBOX.c.attempts)
                .where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.next_attempt_at <= sa.func.now(),
                       OUTBOX.c.id > after_id)
                .order_by(OUTBOX.c.id).limit(limit)).all()
            if not rows:
                return None
            try:
                failed = self._publish_confirmed(rows)
            except Exception:
                self.close()
                raise
            self._after_id = rows[-1].id
            sent_ids = [row.id for row in rows if row.id not in failed]
            for row in rows:
                if row.id in failed:
                    self._postpone(db, row, failed[row.id])
            if sent_ids:
                db.execute(OUTBOX.update().where(OUTBOX.c.id.in_(sent_ids))
                           .values(sent_at=datetime.now(timezone.utc)))
            return len(sent_ids)

    def _publish_confirmed(self, rows) -> dict[int, str]:
        """Publish every row, wait for all confirms; returns {row id: reason} of rows not delivered."""
        channel = self._ensure_channel()
        self._pending, self._failed = {}, {}
        self._row_by_message_id = {str(row.message_id): row.id for row in rows}
        for row in rows:
            self._declare(channel, row.exchange)
            message = Message(row.body, content_type="application/json", content_encoding="utf-8",
                              delivery_mode=2, message_id=str(row.message_id),
                              correlation_id=row.correlation_id, type=row.routing_key)
            channel.basic_publish(message, exchange=row.exchange, routing_key=row.routing_key, mandatory=True)
            self._pending[self._next_tag] = row.id
            self._next_tag += 1
        deadline = time.monotonic() + self.confirm_timeout
        while self._pending:
            if time.monotonic() > deadline:
                raise PublishNotConfirmed(f"{len(self._pending)} messages not confirmed in {self.confirm_timeout}s")
            try:
                self._connection.drain_events(timeout=1)
            except socket.timeout:
                continue
        return self._failed

    def _declare(self, channel, exchange_name: str) -> None:
        if exchange_name not in self._declared:
            channel.exchange_declare(exchange_name, "topic", durable=True, auto_delete=False)
            self._declared.add(exchange_name)

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
