"""A committed event leaves at once: the unit of work wakes its service's relay, so a chain of events
(bill issued -> bill delivered -> ...) does not wait for a relay poll at every hop."""
import time

import sqlalchemy as sa

from cis_runtime.edge.dependencies import OutboxRelayRunner, engine_for
from cis_runtime.testing import wait_for

ADDRESS = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}


def test_an_event_committed_by_a_worker_is_published_without_waiting_for_the_relay_poll(
        running_services, rpc, monkeypatch):
    from kombu import Connection, Exchange, Queue

    from cis_runtime import config

    monkeypatch.setattr(OutboxRelayRunner, "poll_seconds", 30)  # were it only the poll, a wait of 30 s
    with Connection(config.amqp_uri()) as connection:  # a consumer's queue, so the event is routable
        Queue("test.outbox_wakeup", Exchange("cis.events", type="topic"), routing_key="accounts.account_opened.v1",
              auto_delete=False)(connection.default_channel).declare()
    running_services("accounts")
    time.sleep(0.5)  # the relay's first scan finds nothing and idles
    customer = rpc.accounts.create_customer({"name": "Ana Reyes", "mailing_address": ADDRESS})
    rpc.accounts.create_parcel({"apn": "011-222-333", "situs_address": ADDRESS, "owner_of_record": "Ana Reyes"})
    connection = rpc.accounts.authorize_connection({"apn": "011-222-333", "authorized_meter_size": "5/8"})
    started = time.monotonic()
    rpc.accounts.open_account({"customer_id": customer["customer_id"], "connection_id": connection["connection_id"]})

    def sent():
        with engine_for("accounts").connect() as db:
            return db.scalar(sa.text("select count(*) from outbox where message_name = 'accounts.account_opened.v1' "
                                     "and sent_at is not null")) == 1
    wait_for(sent, timeout=10, message="account_opened published")
    assert time.monotonic() - started < 5


def test_a_unit_of_work_wakes_the_relay_only_when_it_committed_events(service_db):
    from cis_contracts.registry import get
    from cis_runtime.uow import UnitOfWork

    woken = []
    factory = service_db("accounts")
    payload = get("accounts.account_opened.v1").schema().load(get("accounts.account_opened.v1").examples()[0])
    session_factory = factory().__enter__()._session_factory
    with UnitOfWork(session_factory, "accounts", on_events_committed=lambda: woken.append(1)) as uow:
        uow.commit()  # nothing emitted
        uow.emit("accounts.account_opened.v1", payload)  # rolled back below: never committed
    assert woken == []
    with UnitOfWork(session_factory, "accounts", on_events_committed=lambda: woken.append(1)) as uow:
        uow.emit("accounts.account_opened.v1", payload)
        uow.commit()
        uow.commit()  # a second commit with nothing new emitted
    assert woken == [1]
