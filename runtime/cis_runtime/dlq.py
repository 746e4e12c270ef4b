"""Inspect and replay dead letters.

    python -m cis_runtime.dlq list <queue>        # e.g. metering.on_ami_register_reads
    python -m cis_runtime.dlq replay <queue>      # move every dead letter back to <queue>

Replay resets the attempt count; the consumer's inbox still drops anything already applied.
"""
import argparse
import json

from kombu import Connection, Producer

from cis_runtime import config

ATTEMPT_HEADER, ERROR_HEADER = "x-cis-attempt", "x-cis-error"


def list_dead_letters(queue: str) -> list[dict]:
    """Every dead letter of `queue` (left in place: fetched, then requeued)."""
    found = []
    with Connection(config.amqp_uri()) as connection:
        channel = connection.channel()
        tags = []
        while (message := channel.basic_get(f"{queue}.dlq", no_ack=False)) is not None:
            headers = message.headers or {}
            found.append({"message_id": _message_id(message), "error": headers.get(ERROR_HEADER),
                          "attempts": headers.get(ATTEMPT_HEADER), "failed_at": headers.get("x-cis-failed-at"),
                          "body": _text(message.body)[:500]})
            tags.append(message.delivery_tag)
        for tag in tags:
            channel.basic_reject(tag, requeue=True)
        channel.close()
    return found


def _message_id(message) -> str | None:
    """The AMQP message_id property, else the envelope's (an undecodable body has none)."""
    if message.properties.get("message_id"):
        return message.properties["message_id"]
    try:
        return json.loads(message.body).get("message_id")
    except (ValueError, AttributeError):
        return None


def _text(body) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def replay(queue: str) -> int:
    """Move every dead letter back to the consumer's queue; returns how many."""
    moved = 0
    with Connection(config.amqp_uri(), transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = Producer(connection.channel())
        while (message := channel.basic_get(f"{queue}.dlq", no_ack=False)) is not None:
            headers = {k: v for k, v in (message.headers or {}).items() if k != ATTEMPT_HEADER}
            headers["x-cis-replayed-error"] = headers.pop(ERROR_HEADER, None)
            producer.publish(message.body, exchange="", routing_key=queue, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             delivery_mode=2, message_id=message.properties.get("message_id"))
            channel.basic_ack(message.delivery_tag)  # only after the broker confirmed the copy
            moved += 1
        channel.close()
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("queue")
    args = parser.parse_args()
    if args.action == "list":
        print(json.dumps(list_dead_letters(args.queue), indent=2))
    else:
        print(f"replayed {replay(args.queue)} message(s) to {args.queue}")


if __name__ == "__main__":
    main()
