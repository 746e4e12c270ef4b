"""Dependency providers and extensions shared by every service."""
import logging
from contextlib import contextmanager

import eventlet
from nameko.extensions import DependencyProvider, Extension
from nameko.rpc import MethodProxy, RpcProxy, ServiceProxy
from sqlalchemy.orm import sessionmaker

from cis_runtime import config
from cis_runtime.db import make_engine
from cis_runtime.outbox import OutboxRelay
from cis_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)

_engines = {}
_relays = {}  # service name -> its running OutboxRelayRunner (a unit of work wakes it after a commit)


def wake_relay(service: str) -> None:
    relay = _relays.get(service)
    if relay is not None:
        relay.wake()


def engine_for(service: str):
    url = config.database_url(service)
    if url not in _engines:
        _engines[url] = make_engine(url, pool_size=int(config.env("CIS_DB_POOL", "10")))
    return _engines[url]


class Database(DependencyProvider):
    """Gives each worker `self.db`: a factory of units of work on the service's own database.

    The unit of work carries the worker's correlation id into every event it emits.
    """

    def __init__(self, service: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.database_of = service  # another service's database: only for runtime tests

    def setup(self):
        self.service = self.database_of or self.container.service_name
        self.session_factory = sessionmaker(bind=engine_for(self.service), expire_on_commit=False)

    def get_dependency(self, worker_ctx):
        correlation_id = worker_ctx.data.get("correlation_id") or worker_ctx.call_id

        def unit_of_work() -> UnitOfWork:
            return UnitOfWork(self.session_factory, self.service, correlation_id,
                              on_events_committed=lambda: wake_relay(self.service))

        unit_of_work.engine = engine_for(self.service)
        return unit_of_work


class OutboxRelayRunner(Extension):
    """Publishes the service's outbox continuously while the service runs, except while a batch
    job holds it (see `held`)."""

    poll_seconds = 0.2

    def setup(self):
        self.relay = OutboxRelay(engine_for(self.container.service_name), config.amqp_uri())
        self.should_stop = False
        self.holds = 0
        self._wakeup = eventlet.Event()
        _relays[self.container.service_name] = self

    def wake(self):
        """New rows were committed: publish now rather than at the next poll (the poll stays, for rows
        committed by another process or a wake that came while the relay was between two checks)."""
        if not self._wakeup.ready():
            self._wakeup.send()

    @contextmanager
    def held(self):
        """Hold publishing for the block: a batch job (a 100,000-account bill run) gets the CPU the
        relay and the broker would take, and the relay catches up after. Events stay safe in the
        outbox meanwhile; only their delivery waits."""
        self.holds += 1
        try:
            yield
        finally:
            self.holds -= 1

    def start(self):
        self.thread = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self.should_stop = True
        self.wake()
        self.thread.wait()
        self.relay.close()
        if _relays.get(self.container.service_name) is self:
            del _relays[self.container.service_name]

    def kill(self):
        self.should_stop = True
        self.relay.close()

    def _run(self):
        while not self.should_stop:
            try:
                if self.holds:
                    eventlet.sleep(self.poll_seconds)
                elif self.relay.publish_pending() == 0:
                    self._idle()
            except Exception:  # the relay must outlive a broker or database outage
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(1)


    def _idle(self):
        with eventlet.Timeout(self.poll_seconds, False):
            self._wakeup.wait()
        self._wakeup = eventlet.Event()


class RelayDependency(DependencyProvider):
    """Declares the relay as a dependency so nameko starts it with the container; a worker gets
    the runner (`with self.outbox.held(): ...`)."""

    relay = OutboxRelayRunner()

    def get_dependency(self, worker_ctx):
        return self.relay


class RpcTimeout(Exception):
    """A remote service did not answer in time."""


class _TimedMethodProxy(MethodProxy):
    def __init__(self, *args, timeout, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    def __call__(self, *args, **kwargs):
        reply = self._call(*args, **kwargs)
        try:
            with eventlet.Timeout(self.timeout):
                return reply.result()
        except eventlet.Timeout:
            self._forget(reply)
            raise RpcTimeout(f"{self.service_name}.{self.method_name} did not answer within "
                             f"{self.timeout}s") from None

    def _forget(self, reply) -> None:
        """Drop the abandoned call's reply slot; nameko would keep it for ever (a slow leak)."""
        slots = self.reply_listener._reply_events
        for correlation_id, event in list(slots.items()):
            if event is reply.reply_event:
                del slots[correlation_id]
                return


class _TimedServiceProxy(ServiceProxy):
    def __init__(self, *args, timeout, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeout = timeout

    def __getattr__(self, name):
        return _TimedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                                 timeout=self.timeout, **self.options)


class TimedRpcProxy(RpcProxy):
    """An RpcProxy whose calls give up after `timeout` seconds; the request also expires
    in the queue then, so a late service does not act on a call its caller abandoned."""

    def __init__(self, target_service, timeout=None, **options):
        self.timeout = timeout or config.rpc_timeout_seconds()
        options.setdefault("expiration", self.timeout)
        super().__init__(target_service, **options)

    def get_dependency(self, worker_ctx):
        return _TimedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                  timeout=self.timeout, **self.options)
