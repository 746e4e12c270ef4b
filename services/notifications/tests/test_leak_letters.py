"""Leak and backflow letters: metering's consumption alerts emailed to the customer through a real SMTP
server started by the test (the fixtures of test_notifications_service)."""
from datetime import datetime, timezone

from cis_contracts.registry import get
from cis_notifications.domain.messages import Contact
from cis_notifications.leak_letters import Alert, letter
from cis_runtime.testing import dead_letters, wait_for
from test_notifications_service import (deliveries, known_contact, mail_drop, mail_relay,  # noqa: F401 (fixtures)
                                        notifications, query)

ALERT = "metering.consumption_alert.v1"


def alert(kind="leak", alert_id="leak-1", account_id="A0000001"):
    return dict(get(ALERT).examples()[0], kind=kind, alert_id=alert_id, account_id=account_id,
                rule="continuous_flow" if kind == "leak" else "reverse_flow")


def handled(count: int):
    return lambda: len(query("select 1 from inbox where consumer = 'notifications.on_consumption_alert'")) >= count


def test_a_leak_alert_emails_the_customer_a_leak_letter_naming_meter_and_time(notifications, mail_relay, publish):
    known_contact(publish)
    publish(ALERT, alert(), producer_name="metering")

    [email] = wait_for(lambda: mail_relay.messages, message="leak letter")
    assert email["To"] == "ana.reyes@example.org"
    assert email["Subject"] == "Possible water leak at your service - account A0000001"
    body = email.get_content()
    assert "Dear Ana Reyes" in body and "meter (M-10001)" in body
    assert "January 15, 2026 3:00 PM" in body  # District time
    [delivery] = deliveries(notifications)
    assert (delivery["kind"], delivery["status"]) == ("leak_letter", "sent")


def test_a_leak_raised_again_the_next_day_sends_no_second_letter_but_a_backflow_does(
        notifications, mail_relay, publish):
    known_contact(publish)
    first = publish(ALERT, alert(), producer_name="metering")
    wait_for(lambda: mail_relay.messages, message="first letter")
    publish(ALERT, envelope=first)  # redelivered
    publish(ALERT, alert(alert_id="leak-2"), producer_name="metering")  # the leak is still running
    publish(ALERT, alert(kind="backflow", alert_id="backflow-1"), producer_name="metering")
    wait_for(handled(3), message="every alert handled")
    wait_for(lambda: len(mail_relay.messages) >= 2, message="backflow letter")
    assert [m["Subject"] for m in mail_relay.messages] == [
        "Possible water leak at your service - account A0000001",
        "Water flowing back through your meter - account A0000001"]
    assert sorted(d["kind"] for d in deliveries(notifications)) == ["backflow_letter", "leak_letter"]


def test_an_alert_for_a_meter_without_an_open_account_writes_to_nobody(notifications, mail_relay, publish):
    publish(ALERT, alert(account_id=None), producer_name="metering")
    wait_for(handled(1), message="alert handled")
    assert mail_relay.messages == [] and dead_letters("notifications.on_consumption_alert") == []


def test_the_backflow_letter_asks_about_the_backflow_prevention_assembly():
    email = letter(Contact("A1", "Ana Reyes", "ana@example.org"),
                   Alert("backflow", "A1", "M-1", datetime(2026, 1, 15, 23, tzinfo=timezone.utc)))
    assert "backflow prevention assembly" in email.body and "January 15, 2026 3:00 PM" in email.body
