"""reliable_handler: bounded retries with back-off, dead-letter queue with the error,
malformed messages dead-lettered at once, redeliveries without a second effect."""
import sqlalchemy as sa

from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, engine_for
from cis_runtime.testing import dead_letters, wait_for

OPENED = "accounts.account_opened.v1"
calls = []
refused_name = "always fails"


class Probe:
    """A consumer of account_opened that fails for some customers and records the rest."""
    name = "probe"
    db = Database(service="accounts")  # borrows a migrated database with an inbox

    @reliable_handler(OPENED)
    def on_account_opened(self, envelope, payload):
        calls.append(envelope["message_id"])
        if payload["customer_name"] == refused_name:
            raise RuntimeError("downstream refused")
        if payload["customer_name"] == "fails once" and calls.count(envelope["message_id"]) == 1:
            raise RuntimeError("transient")
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "probe.on_account_opened", OPENED):
                return
            uow.session.execute(sa.text(
                "insert into customers (customer_id, name, mailing_address, preferred_language) "
                "values (:id, :name, '{}', 'en')"), {"id": payload["account_id"], "name": payload["customer_name"]})
            uow.commit()


def start_probe(running_services, service_db):
    from nameko.runners import ServiceRunner
    from kombu import Connection

    from cis_runtime import config
    from cis_runtime.edge.launch import reliable_queues
    from cis_runtime.topology import declare

    global refused_name
    service_db("accounts")
    calls.clear()
    refused_name = "always fails"
    with Connection(config.amqp_uri()) as connection:
        declare(connection.default_channel, reliable_queues(Probe))
        connection.default_channel.queue_purge("probe.on_account_opened.dlq")
    runner = ServiceRunner(config.nameko_config("probe"))
    runner.add_service(Probe)
    runner.start()
    return runner


def opened(name, account_id="A0000001"):
    from cis_contracts.registry import get
    payload = dict(get(OPENED).examples()[0])
    payload.update(customer_name=name, account_id=account_id)
    return payload


def stored_customers():
    with engine_for("accounts").connect() as db:
        return db.scalars(sa.text("select name from customers order by name")).all()


def test_a_poison_message_is_retried_then_dead_lettered_with_its_error(running_services, service_db, publish):
    runner = start_probe(running_services, service_db)
    try:
        envelope = publish(OPENED, opened("always fails"))
        [(headers, body)] = wait_for(lambda: dead_letters("probe.on_account_opened"), message="dead letter")
        assert body["message_id"] == envelope["message_id"]
        assert headers["x-cis-attempt"] == 3  # CIS_MAX_DELIVERY_ATTEMPTS in tests
        assert "RuntimeError: downstream refused" in headers["x-cis-error"]
        assert calls.count(envelope["message_id"]) == 3
    finally:
        runner.stop()


def test_a_transient_failure_is_retried_and_applied_once(running_services, service_db, publish):
    runner = start_probe(running_services, service_db)
    try:
        publish(OPENED, opened("fails once"))
        wait_for(lambda: stored_customers() == ["fails once"], message="retried message applied")
        assert dead_letters("probe.on_account_opened") == []
    finally:
        runner.stop()


def test_a_redelivered_message_leaves_no_second_effect(running_services, service_db, publish):
    runner = start_probe(running_services, service_db)
    try:
        envelope = publish(OPENED, opened("Ana"))
        publish(OPENED, envelope=envelope)  # the broker or the relay delivering it again
        publish(OPENED, opened("Bo", account_id="A0000002"))
        wait_for(lambda: stored_customers() == ["Ana", "Bo"], message="both accounts")
        wait_for(lambda: calls.count(envelope["message_id"]) == 2, message="redelivery handled")
        assert stored_customers() == ["Ana", "Bo"]
    finally:
        runner.stop()


def test_a_message_breaking_its_contract_is_dead_lettered_at_once_and_the_consumer_goes_on(
        running_services, service_db, publish):
    runner = start_probe(running_services, service_db)
    try:
        bad = publish(OPENED, opened("x"))
        bad["payload"]["email"] = "not-an-email"
        bad["message_id"] = "00000000-0000-4000-8000-000000000001"
        publish(OPENED, envelope=bad)
        publish(OPENED, envelope=b"{not json")
        publish(OPENED, opened("after the bad ones", account_id="A0000009"))
        wait_for(lambda: "after the bad ones" in stored_customers(), message="good message after bad")
        letters = []
        wait_for(lambda: letters.extend(dead_letters("probe.on_account_opened")) or len(letters) >= 2,
                 message="two dead letters")
        reasons = sorted(headers["x-cis-error"] for headers, _ in letters)
        assert any("email" in reason and reason.startswith("invalid message") for reason in reasons)
        assert any("not json" in reason or "Expecting" in reason or "undecodable" in reason for reason in reasons)
        assert bad["message_id"] not in calls
    finally:
        runner.stop()


def test_dead_letters_can_be_listed_with_their_error_and_replayed_once_fixed(running_services, service_db, publish):
    from cis_runtime import dlq

    runner = start_probe(running_services, service_db)
    try:
        envelope = publish(OPENED, opened("always fails", account_id="A0000042"))
        wait_for(lambda: dlq.list_dead_letters("probe.on_account_opened"), message="dead letter")
        [letter] = dlq.list_dead_letters("probe.on_account_opened")  # listing leaves it in place
        assert letter["message_id"] == envelope["message_id"] and "downstream refused" in letter["error"]

        global refused_name
        refused_name = "nobody"  # the downstream problem is fixed
        assert dlq.replay("probe.on_account_opened") == 1
        wait_for(lambda: "always fails" in stored_customers(), message="replayed message applied")
        assert dlq.list_dead_letters("probe.on_account_opened") == []
    finally:
        runner.stop()
