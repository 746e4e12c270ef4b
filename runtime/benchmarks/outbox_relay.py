"""How fast the outbox relay publishes: N committed events -> published with confirms -> marked sent.

    .venv/bin/python runtime/benchmarks/outbox_relay.py [N=100000]

Uses its own database (bench_<id>_accounts, migrated) and its own vhost, both removed at the end.
"""
import os
import subprocess
import sys
import time
import uuid

RUN = uuid.uuid4().hex[:6]
os.environ["CIS_DB_PREFIX"] = f"bench_{RUN}_"
VHOST = f"cis_bench_{RUN}"
os.environ["CIS_AMQP_URI"] = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"

from kombu import Connection, Queue  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from cis_contracts.registry import get  # noqa: E402
from cis_runtime import config, db  # noqa: E402
from cis_runtime.outbox import OutboxRelay  # noqa: E402
from cis_runtime.topology import EVENTS_EXCHANGE, declare, exchange  # noqa: E402
from cis_runtime.uow import UnitOfWork  # noqa: E402

NAME = "accounts.account_opened.v1"


def main(count: int) -> None:
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", VHOST], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"], check=True)
    url = config.database_url("accounts")
    try:
        db.prepare_database("accounts", url)
        engine = db.make_engine(url)
        with Connection(config.amqp_uri()) as connection:
            declare(connection.default_channel, [Queue("bench", exchange=exchange(EVENTS_EXCHANGE), routing_key=NAME)])
        payload = get(NAME).schema().load(get(NAME).examples()[0])
        started = time.perf_counter()
        with UnitOfWork(sessionmaker(bind=engine), "accounts") as uow:
            uow.emit_many(NAME, [payload] * count)
            uow.commit()
        written = time.perf_counter() - started
        relay = OutboxRelay(engine, config.amqp_uri())
        started = time.perf_counter()
        published = relay.drain()
        elapsed = time.perf_counter() - started
        relay.close()
        with Connection(config.amqp_uri()) as connection:
            queued = connection.default_channel.queue_declare("bench", passive=True).message_count
        print(f"events written to the outbox: {count:,} in {written:.2f} s ({count / written:,.0f}/s, "
              f"contract-checked)")
        print(f"relay published with confirms: {published:,} in {elapsed:.2f} s ({published / elapsed:,.0f} msg/s); "
              f"queued at the consumer: {queued:,}")
        engine.dispose()
    finally:
        db.drop_database(url)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
