"""SIGKILL billing in the middle of a bill run of 1,200 accounts, restart it: exactly one bill per
account and exactly one bill_issued event per bill (outbox rows, and notices delivered)."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from cis_contracts.envelope import make_envelope
from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import wait_for
from kombu import Connection, Exchange, Producer

from e2e_support import query

ACCOUNTS = 1200
PACIFIC = ZoneInfo("America/Los_Angeles")
ADDRESS = {"line1": "1 Test St", "line2": None, "city": "Ojai", "state": "CA", "zip": "93023"}


def account_opened(number: int) -> dict:
    return {"account_id": f"K{number:07d}", "customer_id": f"KC{number:07d}", "customer_name": f"Customer {number}",
            "email": f"k{number}@example.org", "phone": None, "preferred_language": "en",
            "mailing_address": ADDRESS, "service_address": ADDRESS, "apn": f"900-{number // 1000:03d}-{number % 1000:03d}",
            "owner_of_record": f"Owner {number}", "connection_id": f"KSC{number:07d}", "authorized_meter_size": "5/8",
            "dwelling_units": 1, "customer_class": "residential", "bill_cycle": "K", "opened_on": "2026-07-01"}


def seed_accounts_meters_and_reads(api):
    """Accounts arrive as accounts' own event (the contract is the boundary); meters through the
    gateway; reads from the AMI head-end."""
    events = Exchange("cis.events", type="topic", durable=True)
    with Connection(config.amqp_uri(), transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        for number in range(ACCOUNTS):
            producer.publish(json.dumps(make_envelope("accounts.account_opened.v1", "accounts", account_opened(number))),
                             exchange=events, routing_key="accounts.account_opened.v1", declare=[events],
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2)

    def install(number):
        api("POST", "/meters", {"serial": f"KM{number:07d}", "size": "5/8"})
        api("POST", f"/meters/KM{number:07d}/installation", {"connection_id": f"KSC{number:07d}",
                                                              "installed_on": "2026-07-01", "initial_read": "100.00"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(install, range(ACCOUNTS)))
    read_at = datetime(2026, 7, 31, 23, 0, tzinfo=PACIFIC).isoformat()
    # 1 to 40 HCF used since the install read of 100: none is zero (a month without use is held for review)
    reads = [{"meter_serial": f"KM{n:07d}", "read_at": read_at, "value": f"{101 + n % 40}.00", "unit": "HCF"}
             for n in range(ACCOUNTS)]
    publish_batches(config.amqp_uri(), [batch_envelope(f"crash-{i}", reads[i:i + 500]) for i in range(0, ACCOUNTS, 500)])
    wait_for(lambda: query("metering", "select count(*) from register_reads where read_at = :t", t=read_at)[0][0]
             == ACCOUNTS, timeout=60, message="all AMI reads stored")


def bills_in_cycle():
    return query("billing", "select count(*) from bills b join bill_runs r on r.run_id = b.bill_run_id "
                            "where r.cycle = 'K'")[0][0]


def test_sigkill_mid_bill_run_then_restart_gives_one_bill_and_one_event_per_account(api, suite):
    seed_accounts_meters_and_reads(api)
    api("PUT", "/business-date", {"business_date": "2026-08-01"})
    run = api("POST", "/bill-runs", {"cycle": "K", "period_start": "2026-07-01", "period_end": "2026-07-31"})

    wait_for(lambda: bills_in_cycle() or None, timeout=60, interval=0.01, message="first bills")
    suite.kill("billing")
    assert bills_in_cycle() < ACCOUNTS, "the run finished before the kill; the test proves nothing"
    suite.start("billing")

    wait_for(lambda: api("GET", f"/bill-runs/{run['run_id']}")["status"] == "completed", timeout=120,
             message="resumed run completed")
    per_account = query("billing", "select account_id, count(*) from bills where bill_run_id = :r group by account_id",
                        r=run["run_id"])
    assert len(per_account) == ACCOUNTS and {count for _, count in per_account} == {1}
    events = query("billing", "select envelope->'payload'->>'bill_id', count(*) from outbox "
                              "where message_name = 'billing.bill_issued.v1' and envelope->'payload'->>'bill_run_id' = :r "
                              "group by 1", r=str(run["run_id"]))
    assert len(events) == ACCOUNTS and {count for _, count in events} == {1}
    # Downstream, each bill produced exactly one bill notice (redeliveries dropped by the inbox).
    wait_for(lambda: query("notifications", "select count(*) from deliveries where kind = 'bill_notice' "
                                            "and account_id like 'K%'")[0][0] >= ACCOUNTS, timeout=180,
             message="bill notices for every bill")
    duplicates = query("notifications", "select source_message_id from deliveries where kind = 'bill_notice' "
                                        "group by source_message_id having count(*) > 1")
    assert duplicates == []
