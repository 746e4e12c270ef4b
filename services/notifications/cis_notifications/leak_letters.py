"""Leak and backflow letters: metering's VEE publishes metering.consumption_alert.v1 when water flowed
through a meter every hour for a day (possible leak) or its register ran backwards (possible
backflow); the customer of record is emailed a letter saying what was seen and what to do.

A leak keeps flowing, so metering may raise it again with every day's reads: a customer gets one
letter of a kind per LETTER_INTERVAL_DAYS, not one a day. An alert for a meter with no open account
has nobody to write to and is only recorded by operations (who read the same event).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from string import Template
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from cis_notifications.adapters.models import Delivery
from cis_notifications.domain.messages import Contact, Email
from cis_notifications.service_layer import services

LETTER_KIND = {"leak": "leak_letter", "backflow": "backflow_letter"}
LETTER_INTERVAL_DAYS = 30
DISTRICT_ZONE = ZoneInfo("America/Los_Angeles")

LEAK_BODY = Template("""\
Dear $name,

Our meter readings for account $account_id show water flowing through your meter ($meter_serial)
without a break for at least a day, up to $detected_at. That usually means a leak: a running toilet,
a dripping faucet or irrigation valve, or a broken pipe on your side of the meter.

What you can do:
- Turn off every tap and appliance, then look at your meter: if its low-flow indicator still turns,
  water is leaking somewhere after the meter.
- Check toilets (a few drops of food colouring in the tank: colour in the bowl within 15 minutes
  means a leak), irrigation lines and outdoor faucets.
- Call us if you need help finding the leak, or to ask about a leak adjustment once it is repaired.

Customer Service, your water district
""")

BACKFLOW_BODY = Template("""\
Dear $name,

Our meter readings for account $account_id show the register of your meter ($meter_serial) running
backwards around $detected_at. Water flowing back from your property into the public system can
contaminate drinking water, so we will check the meter and the backflow prevention at your service.

If you have a backflow prevention assembly, please make sure its annual test is up to date. Please
call us if you have made changes to your plumbing, a well, a pool fill line or a fire sprinkler
connection recently.

Customer Service, your water district
""")


@dataclass(frozen=True)
class Alert:
    kind: str  # leak | backflow
    account_id: str
    meter_serial: str
    detected_at: datetime


def letter(contact: Contact, alert: Alert) -> Email:
    """The email for the customer of record (pure: composed from plain data)."""
    fields = {"name": contact.name, "account_id": alert.account_id, "meter_serial": alert.meter_serial,
              "detected_at": alert.detected_at.astimezone(DISTRICT_ZONE).strftime("%B %-d, %Y %-I:%M %p")}
    if alert.kind == "leak":
        return Email(f"Possible water leak at your service - account {alert.account_id}",
                     LEAK_BODY.substitute(fields))
    return Email(f"Water flowing back through your meter - account {alert.account_id}",
                 BACKFLOW_BODY.substitute(fields))


def send_leak_letter(uow, mailer, source_message_id: str, payload: dict) -> None:
    """Email the customer the letter for a leak or backflow alert (once per source event, and one of a
    kind per LETTER_INTERVAL_DAYS per account), recording the delivery as every notice is."""
    if payload["account_id"] is None:
        return
    alert = Alert(payload["kind"], payload["account_id"], payload["meter_serial"], payload["detected_at"])
    kind = LETTER_KIND[alert.kind]
    if _written_recently(uow, alert.account_id, kind, source_message_id):
        return
    services._deliver(uow, mailer, kind, source_message_id, alert.account_id,
                      lambda contact: letter(contact, alert))


def _written_recently(uow, account_id: str, kind: str, source_message_id: str) -> bool:
    since = datetime.now(timezone.utc) - timedelta(days=LETTER_INTERVAL_DAYS)
    return uow.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.account_id == account_id, Delivery.kind == kind,
        Delivery.status.in_(("sent", "pending")),
        Delivery.sent_at >= since, Delivery.source_message_id != source_message_id)) > 0
