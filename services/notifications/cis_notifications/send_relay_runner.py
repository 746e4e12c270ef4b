"""The send relay at the edge (nameko): runs service_layer/send_relay.send_due while the service runs, woken
at once after a consumer commits an email (so it leaves within moments of the event, as before), and polled
every `poll_seconds` as a sweep so nothing pending is forgotten after a restart or a wake that was missed."""
import logging

import eventlet
from nameko.extensions import DependencyProvider, Extension
from sqlalchemy.orm import sessionmaker

from cis_notifications.adapters.mail_house import FileDropMailHouse
from cis_notifications.adapters.mailer import SmtpMailer
from cis_notifications.service_layer import send_relay
from cis_runtime.edge.dependencies import engine_for, wake_relay
from cis_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)


class SendRelayRunner(Extension):
    poll_seconds = 1.0

    def setup(self):
        self.service = self.container.service_name
        self.session_factory = sessionmaker(bind=engine_for(self.service), expire_on_commit=False)
        self.should_stop = False
        self._wakeup = eventlet.Event()

    def unit_of_work(self) -> UnitOfWork:
        # events emitted with an outcome (bill_delivered, notice_dispatched) wake the outbox relay
        return UnitOfWork(self.session_factory, self.service, None,
                          on_events_committed=lambda: wake_relay(self.service))

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send()

    def start(self):
        self.thread = self.container.spawn_managed_thread(self._run, identifier="send-relay")

    def stop(self):
        self.should_stop = True
        self.wake()
        self.thread.wait()

    def kill(self):
        self.should_stop = True

    def _run(self):
        while not self.should_stop:
            try:
                # the mailer and drop are read from config each pass, as the consumers do
                if send_relay.send_due(self.unit_of_work, SmtpMailer.from_config(),
                                       FileDropMailHouse.from_config()) == 0:
                    self._idle()
            except Exception:  # the relay must outlive an SMTP or database outage
                log.exception("send relay failed; retrying")
                eventlet.sleep(1)

    def _idle(self):
        with eventlet.Timeout(self.poll_seconds, False):
            self._wakeup.wait()
        self._wakeup = eventlet.Event()


class SendRelay(DependencyProvider):
    """Starts the send relay with the container; a worker gets the runner, to wake it after a commit."""

    runner = SendRelayRunner()

    def get_dependency(self, worker_ctx):
        return self.runner
