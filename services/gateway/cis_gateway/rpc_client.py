"""The one way the Flask gateway calls the services: nameko's standalone ClusterRpcProxy, one per thread.

Measured (../shared/ENGINEERING.md): a proxy shared between threads hangs; one per thread, created
lazily after fork (checked by pid), works; a proxy per request costs ~11 ms and leaves a reply queue.
The standalone `timeout` is a socket-read timeout reset by every frame, not a deadline, so each call
is published with an AMQP `expiration` (a request nobody took in time is dropped by the broker) and
its reply is awaited only until the deadline. The request's correlation id and user id travel in the
worker-context data (headers on every RPC), so the services' logs and outbox carry them.
"""
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from nameko.exceptions import RpcTimeout as NamekoRpcTimeout
from nameko.rpc import MethodProxy
from nameko.standalone.rpc import ClusterRpcProxy

from cis_runtime import config
from cis_runtime.edge import remote_errors  # noqa: F401  (domain errors cross RPC as themselves)
from cis_runtime.edge.dependencies import RpcTimeout

_local = threading.local()


def _proxy() -> ClusterRpcProxy:
    """This thread's proxy, (re)created after a fork."""
    proxy = getattr(_local, "proxy", None)
    if proxy is None or _local.pid != os.getpid():
        proxy = ClusterRpcProxy(config.nameko_config("gateway"))
        proxy.start()
        _local.proxy, _local.pid = proxy, os.getpid()
    return proxy


def close() -> None:
    proxy = getattr(_local, "proxy", None)
    if proxy is not None and _local.pid == os.getpid():
        proxy.stop()
    _local.proxy = None


@dataclass
class Outcome:
    value: Any = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Client:
    """Calls made for one HTTP request: one context (correlation id, user id) and one deadline."""

    def __init__(self, correlation_id: str, user_id: str | None, timeout: float | None = None):
        self.context = {"correlation_id": correlation_id, "user_id": user_id}
        self.timeout = config.rpc_timeout_seconds() if timeout is None else timeout

    def call(self, service: str, method: str, *args):
        return values_or_raise(self.call_all({"value": (service, method, *args)}))["value"]

    def call_all(self, calls: dict[str, tuple]) -> dict[str, Outcome]:
        """`calls`: name -> (service, method, *args). All are sent before any is awaited, under one deadline."""
        proxy = _proxy()
        proxy._worker_ctx.data = dict(self.context)  # private in nameko: kept inside this module
        deadline = time.monotonic() + self.timeout
        replies, outcomes = {}, {}
        for name, (service, method, *args) in calls.items():
            try:
                method_proxy = MethodProxy(proxy._worker_ctx, service, method, proxy._reply_listener,
                                           expiration=max(self.timeout, 0.001))
                replies[name] = method_proxy.call_async(*args)
            except Exception as exc:  # UnknownService: no queue for that service
                outcomes[name] = Outcome(error=exc)
        for name, reply in replies.items():
            outcomes[name] = _await(name, reply, deadline, proxy)
        return {name: outcomes[name] for name in calls}


def _await(name, reply, deadline, proxy) -> Outcome:
    consumer = proxy._reply_listener.queue_consumer
    remaining = deadline - time.monotonic()
    correlation_id = reply.reply_event.correlation_id
    if remaining <= 0 and correlation_id not in consumer.replies:
        proxy._reply_listener._reply_events.pop(correlation_id, None)
        return Outcome(error=RpcTimeout(f"{name} did not answer in time"))
    consumer.timeout = max(remaining, 0.001)
    try:
        return Outcome(value=reply.result())
    except (NamekoRpcTimeout, socket.timeout):
        return Outcome(error=RpcTimeout(f"{name} did not answer in time"))
    except Exception as exc:  # a domain error or RemoteError from that service
        return Outcome(error=exc)


def values_or_raise(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    for outcome in outcomes.values():
        if not outcome.ok:
            raise outcome.error
    return {name: outcome.value for name, outcome in outcomes.items()}
