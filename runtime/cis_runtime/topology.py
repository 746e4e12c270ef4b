"""RabbitMQ topology: exchanges, consumer queues, their retry and dead-letter queues.

Declared by a deploy step (`python -m cis_runtime.edge.launch --declare`) before any
service publishes, and again by each consumer at start-up; declarations are idempotent.

For a consumer queue Q:
  Q           bound to its exchange by each message name it handles
  Q.retry     holds a failed message for its back-off delay (per-message TTL), then
              dead-letters it back to Q through the default exchange
  Q.dlq       where a message lands, with its error, after the last attempt
"""
from kombu import Exchange, Queue, binding

EVENTS_EXCHANGE = "cis.events"
AMI_EXCHANGE = "ami.inbound"



def external_queues() -> list[Queue]:
    """Durable queues read by District systems outside the suite (operations' work orders), bound
    to every event whose contract names them, so nothing published while they are away is lost."""
    from cis_contracts import MESSAGES
    keys_by_queue: dict[str, list[str]] = {}
    for name, contract in sorted(MESSAGES.items()):
        if contract.external_queue:
            keys_by_queue.setdefault(contract.external_queue, []).append(name)
    return [queue for name, keys in keys_by_queue.items()
            for queue in consumer_queues(name, EVENTS_EXCHANGE, keys)]


def exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def consumer_queues(queue_name: str, exchange_name: str, routing_keys: list[str]) -> list[Queue]:
    ex = exchange(exchange_name)
    main = Queue(queue_name, bindings=[binding(ex, routing_key=key) for key in routing_keys], durable=True)
    retry = Queue(f"{queue_name}.retry", durable=True, queue_arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name})
    dead = Queue(f"{queue_name}.dlq", durable=True)
    return [main, retry, dead]


def declare(channel, queues: list[Queue]) -> None:
    for queue in queues:
        bound = queue.bind(channel)
        for item in queue.bindings:
            item.exchange.bind(channel).declare()
        bound.declare()


def retry_delay_ms(attempt: int, base_ms: int) -> int:
    """Exponential back-off for the n-th retry (1-based), capped at five minutes."""
    return min(base_ms * 2 ** (attempt - 1), 300_000)
