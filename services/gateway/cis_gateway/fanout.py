"""Call several services at once and wait for them under one deadline.

A page that needs five services must not take five timeouts when one of them is down.
"""
import time
from dataclasses import dataclass
from typing import Any

import eventlet

from cis_runtime.edge.dependencies import RpcTimeout


@dataclass
class Outcome:
    value: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def call_all(calls: dict[str, tuple], timeout: float) -> dict[str, Outcome]:
    """`calls` maps a name to (method proxy, *args); every call is sent before any is awaited."""
    replies, outcomes = {}, {}
    for name, (method, *args) in calls.items():
        try:
            replies[name] = method.call_async(*args)
        except Exception as exc:  # UnknownService: no such queue on the broker
            outcomes[name] = Outcome(error=exc)
    deadline = time.monotonic() + timeout
    for name, reply in replies.items():
        outcomes[name] = _await(name, reply, deadline)
    return {name: outcomes[name] for name in calls}


def _await(name: str, reply, deadline: float) -> Outcome:
    try:
        with eventlet.Timeout(max(deadline - time.monotonic(), 0)):
            return Outcome(value=reply.result())
    except eventlet.Timeout:
        return Outcome(error=RpcTimeout(f"{name} did not answer in time"))
    except Exception as exc:  # a domain error or RemoteError from that service
        return Outcome(error=exc)


def values_or_raise(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    """The values, or the first error (in call order) if any call failed."""
    for outcome in outcomes.values():
        if not outcome.ok:
            raise outcome.error
    return {name: outcome.value for name, outcome in outcomes.items()}
