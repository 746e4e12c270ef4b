"""Billing as `cis_runtime.edge.launch billing` runs it, but with the runtime change bill_run.py's
--sampled-self-check asks the lead for: UnitOfWork.emit_many checks the FIRST payload of a batch
against the contract (schema.load of the dumped payload) instead of every one. Every payload is
still dumped with the contract's schema. For measuring only; not used by the suite.
"""
import os

from cis_runtime.edge import launch  # noqa: F401  (monkey-patches eventlet first, like the launcher)
from cis_contracts.envelope import make_envelope
from cis_contracts.registry import get as get_contract
from cis_runtime import uow as uow_module


def emit_many_checking_the_first(self, message_name: str, payloads: list[dict]) -> list[str]:
    contract = get_contract(message_name)
    schema = contract.schema()
    rows = []
    for number, payload in enumerate(payloads):
        dumped = schema.dump(payload)
        if number == 0:
            schema.load(dumped)
        envelope = make_envelope(message_name, self.producer, dumped, self.correlation_id)
        rows.append({"message_id": envelope["message_id"], "message_name": message_name,
                     "exchange": contract.exchange, "routing_key": message_name, "envelope": envelope})
    if rows:
        self.session.execute(uow_module.OUTBOX.insert(), rows)
    return [row["message_id"] for row in rows]


if __name__ == "__main__":
    uow_module.UnitOfWork.emit_many = emit_many_checking_the_first
    if os.environ.get("CIS_BENCH_RELAY") == "off":  # measure the run without the in-process relay
        from cis_runtime.edge.dependencies import OutboxRelayRunner
        OutboxRelayRunner.start = lambda self: None
        OutboxRelayRunner.stop = lambda self: None
    launch.run(["billing"])
