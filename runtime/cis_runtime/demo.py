"""Seed a small demo district through the gateway's public API (as staff and the AMI would), and one demo
staff user per role (demo passwords, printed: a District makes its users with `python -m cis_gateway.admin`)."""
import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches

PACIFIC = ZoneInfo("America/Los_Angeles")
HOUSEHOLDS = [
    ("Ana Reyes", "ana.reyes@example.org", "011-222-001", "12 Orchard Ln", "5/8", Decimal("12")),
    ("Ben Okafor", "ben.okafor@example.org", "011-222-002", "14 Orchard Ln", "5/8", Decimal("7")),
    ("Casa Verde HOA", "board@casaverde.example.org", "011-223-010", "200 Ventura Ave", "2", Decimal("180")),
    ("Dana Li", "dana.li@example.org", "011-224-005", "9 Creek Rd", "3/4", Decimal("22")),
    ("Eli Navarro", None, "011-224-006", "11 Creek Rd", "5/8", Decimal("15")),
]

# These two chose e-bills; every other bill is printed for the mail house (Eli Navarro has no email).
PAPERLESS = ("Ana Reyes", "Casa Verde HOA")


DEMO_STAFF = [
    ("tina.tech", "Tina Tech", "billing_technician"),
    ("carlos.csr", "Carlos Ruiz", "customer_service_representative"),
    ("cora.collections", "Cora Lang", "collections"),
    ("alex.accounting", "Alex Moreno", "accounting"),
    ("sam.supervisor", "Sam Ito", "supervisor"),
    ("olga.operations", "Olga Petrov", "operations_liaison"),
    ("audrey.auditor", "Audrey Kim", "read_only_auditor"),
    ("admin", "District Administrator", "administrator"),
]
_http = requests.Session()


def demo_password(user_id: str) -> str:
    return f"demo-{user_id}-2026"


def create_demo_staff(create_user) -> str:
    """`create_user(user_id, display_name, role, password)` (Suite.create_user); users kept from an earlier
    start are left as they are."""
    lines = ["Demo staff (user name / password / role):"]
    for user_id, display_name, role in DEMO_STAFF:
        create_user(user_id, display_name, role, demo_password(user_id))
        lines.append(f"  {user_id:18} {demo_password(user_id):28} {role}")
    return "\n".join(lines)


def call(method, url, body=None, expected=(200, 201)):
    response = _http.request(method, url, json=body, timeout=60)
    if response.status_code not in expected:
        raise RuntimeError(f"{method} {url} -> {response.status_code}: {response.text}")
    return response.json()


def seed_demo_district(gateway: str, api_token: str) -> str:
    """Seed once: a later start finds the district (and whatever staff did in it) as it was left.
    `api_token`: an administrator's (the suite runner's), as another District system calls the API."""
    _http.headers["Authorization"] = f"Bearer {api_token}"
    api = gateway + "/api"
    existing = call("GET", f"{api}/accounts")
    if existing:
        lines = [f"Demo district already seeded ({len(existing)} accounts); drop the cis_* databases to reseed."]
        return "\n".join(lines + [f"  {gateway}/accounts/{a['account_id']}" for a in existing[:10]])
    call("PUT", f"{api}/business-date", {"business_date": "2026-01-01"})
    reads, accounts = [], []
    for number, (name, email, apn, street, size, used) in enumerate(HOUSEHOLDS, start=1):
        address = {"line1": street, "city": "Ojai", "zip": "93023"}
        customer = call("POST", f"{api}/customers", {"name": name, "email": email, "mailing_address": address})
        call("POST", f"{api}/parcels", {"apn": apn, "situs_address": address, "owner_of_record": name})
        connection = call("POST", f"{api}/connections", {"apn": apn, "authorized_meter_size": size})
        account = call("POST", f"{api}/accounts", {"customer_id": customer["customer_id"],
                                                   "connection_id": connection["connection_id"]})
        serial = f"BDG{number:07d}"
        call("POST", f"{api}/meters", {"serial": serial, "size": size, "make": "Badger", "model": "E-Series"})
        call("POST", f"{api}/meters/{serial}/installation", {"connection_id": connection["connection_id"],
                                                             "installed_on": "2026-01-01", "initial_read": "1000.0"})
        for day, value in ((15, 1000 + used / 2), (31, 1000 + used)):
            read_at = datetime(2026, 1, day, 23, 0, tzinfo=PACIFIC).isoformat()
            reads.append({"meter_serial": serial, "read_at": read_at, "value": f"{value:.2f}", "unit": "HCF"})
        if name in PAPERLESS:
            call("PUT", f"{api}/accounts/{account['account_id']}/bill-delivery",
                 {"paperless": True, "changed_by": "demo"})
        accounts.append(account["account_id"])
    publish_batches(config.amqp_uri(), [batch_envelope("demo-2026-01", reads)])
    time.sleep(2)  # the head-end's batch is consumed asynchronously

    call("PUT", f"{api}/business-date", {"business_date": "2026-02-01"})
    run = call("POST", f"{api}/bill-runs", {"cycle": "1", "period_start": "2026-01-01", "period_end": "2026-01-31"})
    for _ in range(120):
        run = call("GET", f"{api}/bill-runs/{run['run_id']}")
        if run["status"] == "completed":
            break
        time.sleep(0.5)
    held = {exception["account_id"] for exception in run.get("exceptions", [])}
    wait_for_bill_deliveries(api, [account_id for account_id in accounts if account_id not in held])
    statement = call("GET", f"{api}/accounts/{accounts[0]}/statement")
    call("POST", f"{api}/payments", {"account_id": accounts[0], "amount": statement["balance"], "method": "check",
                                     "reference": "CHK-1001"})
    call("PUT", f"{api}/business-date", {"business_date": "2026-03-01"})
    daily_run_with_current_views(api)
    lines = [f"Demo district: {len(accounts)} accounts, bill run {run['run_id']} ({run['status']}, "
             f"{run.get('bills_issued')} bills), business date 2026-03-01."]
    lines += [f"  {gateway}/accounts/{account_id}" for account_id in accounts]
    return "\n".join(lines)


def wait_for_bill_deliveries(api: str, account_ids: list[str], attempts: int = 60) -> None:
    """Notifications mails or emails each bill on the business date it hears of it: move the date only
    once every bill went out, so each is delivered on its issue date as on a real day."""
    for _ in range(attempts):
        if all(any(d["kind"] == "bill_notice" for d in call("GET", f"{api}/accounts/{a}/notices")["deliveries"])
               for a in account_ids):
            return
        time.sleep(0.5)
    raise RuntimeError("notifications has not delivered every bill of the demo run")


def daily_run_with_current_views(api: str, attempts: int = 30) -> dict:
    """The collections run defers an account whose billing events it has not all applied yet (the
    payment just posted may still be on its way); the run may be asked again the same day, so ask
    until nothing is deferred, as the District's scheduler would."""
    for _ in range(attempts):
        run = call("POST", f"{api}/collections/daily-run")
        if not run.get("accounts_deferred"):
            return run
        time.sleep(1)
    raise RuntimeError(f"collections still defers {run['accounts_deferred']} accounts: {run.get('deferred')}")
