"""Notifications service entrypoints (nameko): build the contact directory, deliver every bill and past-due
reminder (printed for the mail house, or emailed to a paperless customer), print collections notices for the mail
house and field staff, and report each mailing and each bill delivered (through the outbox)."""
from nameko.rpc import rpc

from cis_contracts.registry import get as contract
from cis_notifications import leak_letters
from cis_notifications.adapters.mail_house import FileDropMailHouse
from cis_notifications.adapters.mailer import SmtpMailer
from cis_notifications.send_relay_runner import SendRelay
from cis_notifications.service_layer import bills, past_due, services
from cis_runtime.edge.clock_rpc import BusinessClockRpc
from cis_runtime.edge.consumers import reliable_handler
from cis_runtime.edge.dependencies import Database, RelayDependency
from cis_runtime.validation import load_id

ACCOUNT_OPENED = "accounts.account_opened.v1"
BILL_ISSUED = "billing.bill_issued.v1"
NOTICE_REQUESTED = "collections.notice_requested.v1"
COLLECTION_NOTICE_REQUESTED = "collections.collection_notice_requested.v1"
CONSUMPTION_ALERT = "metering.consumption_alert.v1"
BILL_DELIVERY_CHANGED = "accounts.bill_delivery_changed.v1"
ACCOUNT_CLOSED = "accounts.account_closed.v2"


class Service(BusinessClockRpc):
    name = "notifications"
    db = Database()
    outbox = RelayDependency()
    send_relay = SendRelay()  # emails leave after commit (service_layer/send_relay.py)

    @reliable_handler(ACCOUNT_OPENED)
    def on_account_opened(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "notifications.on_account_opened", ACCOUNT_OPENED):
                return
            services.record_contact(uow, payload)
            uow.commit()

    @reliable_handler(BILL_DELIVERY_CHANGED)
    def on_bill_delivery_changed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "notifications.on_bill_delivery_changed",
                                      BILL_DELIVERY_CHANGED):
                return
            bills.record_bill_delivery_choice(uow, payload)
            uow.commit()

    @reliable_handler(ACCOUNT_CLOSED)
    def on_account_closed(self, envelope, payload):
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "notifications.on_account_closed", ACCOUNT_CLOSED):
                return
            bills.record_closing(uow, payload)
            uow.commit()

    @reliable_handler(BILL_ISSUED)
    def on_bill_issued(self, envelope, payload):
        """Printed for the mail house, or emailed to a paperless customer; reported as bill_delivered."""
        self._notify(envelope, BILL_ISSUED, "notifications.on_bill_issued",
                     lambda uow, mailer: bills.deliver_bill(uow, mailer, FileDropMailHouse.from_config(),
                                                            envelope["message_id"], payload))

    @reliable_handler(NOTICE_REQUESTED)
    def on_notice_requested(self, envelope, payload):
        """The past-due reminder, by the bill's rule: printed for the mail house, or emailed if paperless."""
        self._notify(envelope, NOTICE_REQUESTED, "notifications.on_notice_requested",
                     lambda uow, mailer: past_due.send_past_due_notice(uow, mailer, FileDropMailHouse.from_config(),
                                                                       envelope["message_id"], payload))

    @reliable_handler(COLLECTION_NOTICE_REQUESTED)
    def on_collection_notice_requested(self, envelope, payload):
        """The printed letter (or door hanger) for the mail house; the email copy has its own queue."""
        with self.db() as uow:
            if not uow.first_delivery(envelope["message_id"], "notifications.on_collection_notice_requested",
                                      COLLECTION_NOTICE_REQUESTED):
                return
            services.print_collection_notice(uow, FileDropMailHouse.from_config(), envelope["message_id"], payload)
            uow.commit()

    @reliable_handler(COLLECTION_NOTICE_REQUESTED)
    def on_collection_notice_to_email(self, envelope, payload):
        self._notify(envelope, COLLECTION_NOTICE_REQUESTED, "notifications.on_collection_notice_to_email",
                     lambda uow, mailer: services.email_collection_notice(uow, mailer, envelope["message_id"],
                                                                         payload))

    @reliable_handler(CONSUMPTION_ALERT)
    def on_consumption_alert(self, envelope, payload):
        """A leak or backflow seen by metering's VEE: the customer gets a letter by email."""
        self._notify(envelope, CONSUMPTION_ALERT, "notifications.on_consumption_alert",
                     lambda uow, mailer: leak_letters.send_leak_letter(uow, mailer, envelope["message_id"], payload))

    def _notify(self, envelope, message_name, consumer, send):
        """Decide in one unit of work: an email is recorded pending and sent after the commit by the send
        relay (woken here). A print failure is recorded apart and re-raised, so the reliable handler retries
        it (and finally dead-letters it) instead of losing the notice."""
        try:
            with self.db() as uow:
                if not uow.first_delivery(envelope["message_id"], consumer, message_name):
                    return
                send(uow, SmtpMailer.from_config())
                uow.commit()
            self.send_relay.wake()
        except services.DeliveryFailed as failure:
            with self.db() as uow:
                services.record_failed_delivery(uow, failure)
                uow.commit()
            raise

    @rpc
    def list_deliveries(self, account_id):
        load_id("account_id", account_id)  # a NUL or a megabyte-long id is refused naming the field
        with self.db() as uow:
            return contract("notifications.deliveries.v1").schema().dump(services.list_deliveries(uow, account_id))

    @rpc
    def list_deliveries_v2(self, account_id):
        load_id("account_id", account_id)  # a NUL or a megabyte-long id is refused naming the field
        with self.db() as uow:
            return contract("notifications.deliveries.v2").schema().dump(
                services.list_deliveries_v2(uow, account_id))
