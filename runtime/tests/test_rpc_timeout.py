"""Service-to-service RPC gives up after its timeout and forgets the abandoned call."""
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc
from nameko.runners import ServiceRunner

from cis_runtime import config
from cis_runtime.edge.dependencies import RpcTimeout, TimedRpcProxy


class Caller:
    name = "caller"
    silent = TimedRpcProxy("silent", timeout=1)

    @rpc
    def ask(self):
        try:
            return self.silent.anything()
        except RpcTimeout as error:
            return {"timed_out": str(error),
                    "slots_left": len(self.silent.reply_listener._reply_events)}


@pytest.fixture
def silent_service_queue():
    """A queue for `silent` that nobody consumes: calls are routable but never answered."""
    queue = Queue("rpc-silent", exchange=Exchange("nameko-rpc", type="topic", durable=True),
                  routing_key="silent.*", durable=True)
    with Connection(config.amqp_uri()) as connection:
        queue.bind(connection.default_channel).declare()
        yield
        connection.default_channel.queue_delete("rpc-silent")


def test_a_call_nobody_answers_times_out_and_leaves_no_reply_slot(silent_service_queue, rpc):
    runner = ServiceRunner(config.nameko_config("caller"))
    runner.add_service(Caller)
    runner.start()
    try:
        started = time.monotonic()
        answer = rpc.caller.ask()
        assert time.monotonic() - started < 5
        assert "silent.anything did not answer within 1s" in answer["timed_out"]
        assert answer["slots_left"] == 0
    finally:
        runner.stop()
