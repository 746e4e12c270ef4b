"""`reliable_handler`: a message entrypoint that never loses or silently drops a message.

nameko's own handlers ack and drop a message whose handler raised. Here:
  * an undecodable body or an envelope/payload that fails its contract goes straight to
    the queue's dead-letter queue, with the reason (retrying cannot fix it);
  * any other error is retried through the queue's retry queue with exponential back-off;
    after CIS_MAX_DELIVERY_ATTEMPTS attempts the message goes to the dead-letter queue
    with its last error;
  * the original is acked only after the copy is confirmed by the broker, so a crash in
    between gives a duplicate (which the handler's inbox ignores), never a loss;
  * an infrastructure failure (database or broker unreachable, see `is_infrastructure_error`)
    does not count as an attempt: the message goes round the retry queue with a capped
    back-off (CIS_INFRA_RETRY_MAX_MS) as often as needed, keeping its attempt number;
  * a lost broker connection is expected: acking, requeuing or forwarding on a dead socket is
    logged and dropped (the broker redelivers every unacked message; the inbox drops the
    copy) and kombu's consumer loop reconnects. No such error reaches nameko, which would
    otherwise kill the container and end the process. See docs/faults.md.
The handler receives (envelope, payload) already validated against the contract.
"""
import json
import logging
import traceback
from datetime import datetime, timezone
from functools import partial, partialmethod

import eventlet
from kombu import Connection, Producer
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError
from nameko.messaging import Consumer, QueueConsumer

from cis_contracts.envelope import open_envelope
from cis_runtime import config
from cis_runtime.errors import InvalidMessage
from cis_runtime.topology import EVENTS_EXCHANGE, consumer_queues, declare, retry_delay_ms

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-cis-attempt"
ERROR_HEADER = "x-cis-error"
OUTAGE_HEADER = "x-cis-outage-retries"  # retries spent waiting for infrastructure; not attempts


def _broker_connection_errors() -> tuple:
    import amqp.exceptions
    import kombu.exceptions
    return (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.ChannelError,
            kombu.exceptions.OperationalError, kombu.exceptions.ConnectionError)


BROKER_CONNECTION_ERRORS = _broker_connection_errors()


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when `exc` says the database or the broker is unavailable, not that the message is bad."""
    import sqlalchemy.exc as sa_exc
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):  # TimeoutError: pool exhausted
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and _is_driver_outage(exc.orig)
    if _is_driver_outage(exc):
        return True
    return isinstance(exc, BROKER_CONNECTION_ERRORS)


def _is_driver_outage(exc) -> bool:
    for module in ("psycopg2", "psycopg"):
        try:
            driver = __import__(module)
        except ImportError:
            continue
        errors = driver.errors if module == "psycopg" else driver.extensions
        if isinstance(exc, getattr(errors, "TransactionRollbackError", ())):  # deadlock/serialization: real retry
            return False
        if isinstance(exc, (driver.OperationalError, driver.InterfaceError)):
            return True
    return False


def outage_delay_ms(outage_retries: int) -> int:
    """Back-off while waiting for the database or broker: base, doubling, capped (default 10 s)."""
    cap = int(config.env("CIS_INFRA_RETRY_MAX_MS", "10000"))
    return min(config.retry_base_delay_ms() * 2 ** min(outage_retries, 20), cap)


# nameko's queue consumers (ours, the RPC consumer, the reply listener) look for a stop request once per
# kombu `safety_interval` (1 s), and a container stops them one after another: 3 s for every service
# stop (a restart's downtime, most of a unit test's teardown). A tenth of a second costs ten idle
# wake-ups a second per consumer.
QueueConsumer.consume = partialmethod(ConsumerMixin.consume, safety_interval=0.1)


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer, plus dead-lettering of bodies that cannot be decoded."""

    def setup(self):
        super().setup()
        self._publish_lock = eventlet.semaphore.Semaphore()
        self._producer = None

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        if self.forward(message, f"{provider.queue.name}.dlq", message.body, {
                ERROR_HEADER: f"undecodable message body: {exc}"}):
            self.ack_message(message)

    def ack_message(self, message):
        """Ack; on a dead connection do nothing (the broker has already taken the message back)."""
        try:
            super().ack_message(message)
        except BROKER_CONNECTION_ERRORS as exc:
            log.warning("ack lost with the broker connection (message will be redelivered): %s",
                        type(exc).__name__)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except BROKER_CONNECTION_ERRORS as exc:
            log.warning("requeue lost with the broker connection (message will be redelivered): %s",
                        type(exc).__name__)

    def forward(self, message, queue_name: str, body, headers: dict, expiration_ms: int | None = None) -> bool:
        """`_forward`, but a broker failure returns False instead of raising: the caller then leaves
        the original unacked, and the broker redelivers it once the connection is back."""
        try:
            self._forward(message, queue_name, body, headers, expiration_ms)
            return True
        except BROKER_CONNECTION_ERRORS as exc:
            log.warning("could not forward a message to %s (broker unavailable: %s); it stays unacked "
                        "for redelivery", queue_name, type(exc).__name__)
            self.requeue_message(message)
            return False

    def _forward(self, message, queue_name: str, body, headers: dict, expiration_ms: int | None = None):
        """Publish a copy of `message` to `queue_name` (default exchange) and wait for the confirm."""
        with self._publish_lock:
            if self._producer is None:
                connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
                self._producer = Producer(connection.channel())
            all_headers = dict(message.headers or {})
            all_headers.update(headers)
            properties = {"message_id": message.properties.get("message_id")}
            if expiration_ms is not None:
                properties["expiration"] = expiration_ms / 1000  # kombu takes seconds
            try:
                self._producer.publish(
                    body, exchange="", routing_key=queue_name, headers=all_headers,
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    delivery_mode=2, retry=True, retry_policy={"max_retries": 3, "interval_start": 0.5,
                                                               "interval_step": 1, "interval_max": 2},
                    **properties)
            except Exception:
                self._release_producer()
                raise

    def _release_producer(self):
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.channel.connection.client.release()
            except Exception:  # already dead
                pass

    def kill(self):
        self._release_producer()
        super().kill()


class ReliableHandler(Consumer):
    queue_consumer = ReliableQueueConsumer()

    def __init__(self, *message_names, exchange=EVENTS_EXCHANGE, **kwargs):
        self.message_names = list(message_names)
        self.exchange_name = exchange
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        queue_name = f"{self.container.service_name}.{self.method_name}"
        queues = consumer_queues(queue_name, self.exchange_name, self.message_names)
        with Connection(config.amqp_uri()) as connection:
            declare(connection.default_channel, queues)
        self.queue = queues[0]
        super().setup()

    def handle_message(self, body, message):
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        try:
            if isinstance(body, (bytes, str)):
                body = json.loads(body)
            envelope, payload = open_envelope(body)
            if envelope["type"] + f".v{envelope['version']}" not in self.message_names:
                raise InvalidMessage(f"{envelope['type']} v{envelope['version']} is not handled here")
        except (ValidationError, InvalidMessage, ValueError, TypeError, KeyError) as exc:
            self._dead_letter(message, attempt, f"invalid message: {_describe(exc)}")
            return
        context = {"correlation_id": envelope["correlation_id"], "message_id": envelope["message_id"],
                   "attempt": attempt}
        try:
            self.container.spawn_worker(self, (envelope, payload), {}, context_data=context,
                                        handle_result=partial(self.handle_result, message))
        except Exception:  # container being killed: leave it for the broker to redeliver
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return result, exc_info
        attempt = worker_ctx.data["attempt"]
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if not isinstance(exc_info[1], InvalidMessage) and is_infrastructure_error(exc_info[1]):
            # the database or broker is down: wait for it without spending one of the message's attempts
            outage_retries = int((message.headers or {}).get(OUTAGE_HEADER, 0))
            delay = outage_delay_ms(outage_retries)
            log.warning("%s: infrastructure unavailable (%s), retrying in %sms; attempt %s not counted",
                        self.queue.name, exc_info[0].__name__, delay, attempt)
            if self.queue_consumer.forward(message, f"{self.queue.name}.retry", message.body,
                                           {ATTEMPT_HEADER: attempt, OUTAGE_HEADER: outage_retries + 1,
                                            ERROR_HEADER: error[:4000]}, expiration_ms=delay):
                self.queue_consumer.ack_message(message)
            return result, exc_info
        if isinstance(exc_info[1], InvalidMessage) or attempt >= config.max_delivery_attempts():
            self._dead_letter(message, attempt, error)
        else:
            delay = retry_delay_ms(attempt, config.retry_base_delay_ms())
            log.warning("%s failed (attempt %s), retrying in %sms: %s", self.queue.name, attempt, delay, error)
            if self.queue_consumer.forward(message, f"{self.queue.name}.retry", message.body,
                                           {ATTEMPT_HEADER: attempt + 1, OUTAGE_HEADER: 0, ERROR_HEADER: error},
                                           expiration_ms=delay):
                self.queue_consumer.ack_message(message)
        return result, exc_info

    def _dead_letter(self, message, attempt: int, reason: str):
        log.error("%s: dead-lettering message after %s attempt(s): %s", self.queue.name, attempt, reason)
        if self.queue_consumer.forward(message, f"{self.queue.name}.dlq", message.body, {
                ATTEMPT_HEADER: attempt, ERROR_HEADER: reason[:4000],
                "x-cis-failed-at": datetime.now(timezone.utc).isoformat()}):
            self.queue_consumer.ack_message(message)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return json.dumps(exc.normalized_messages(), sort_keys=True)
    return f"{type(exc).__name__}: {exc}"


reliable_handler = ReliableHandler.decorator
