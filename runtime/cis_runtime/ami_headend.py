"""A stand-in AMI head-end: publishes register-read batches with plain kombu (no nameko),
exactly as the AsyncAPI document tells a vendor's head-end to do."""
import json
import uuid
from datetime import datetime, timezone

from kombu import Connection, Exchange, Producer

AMI_EXCHANGE = Exchange("ami.inbound", type="topic", durable=True)
ROUTING_KEY = "metering.ami_register_reads.v1"


def batch_envelope(batch_id: str, reads: list[dict], head_end: str = "demo-headend") -> dict:
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ami-batch:{batch_id}"))  # same batch, same id
    return {
        "message_id": message_id, "type": "metering.ami_register_reads", "version": 1,
        "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": head_end,
        "correlation_id": message_id,
        "payload": {"batch_id": batch_id, "head_end": head_end, "reads": reads},
    }


def publish_batches(amqp_uri: str, envelopes: list) -> None:
    """Publish with publisher confirms, so a returned call means the broker has them."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        for envelope in envelopes:
            body = envelope if isinstance(envelope, (bytes, str)) else json.dumps(envelope)
            producer.publish(body, exchange=AMI_EXCHANGE, routing_key=ROUTING_KEY, declare=[AMI_EXCHANGE],
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2)
