"""Helpers shared by the end-to-end tests."""
import time

import sqlalchemy as sa

from cis_runtime import config


def query(service: str, sql: str, **params):
    """Read a service's own database (assertions only; the services own their data)."""
    engine = sa.create_engine(config.database_url(service))
    try:
        with engine.connect() as db:
            return db.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def on_day(api, day) -> dict:
    """Every service's clock to `day`, then collections' daily run for it, asked again until no account
    is deferred (collections defers an account whose billing events it has not all applied yet; the
    District's scheduler asks again the same way, runtime/cis_runtime/demo.py)."""
    api("PUT", "/business-date", {"business_date": day.isoformat()})
    deadline = time.monotonic() + 30
    while True:
        run = api("POST", "/collections/daily-run")
        if not run["accounts_deferred"] or time.monotonic() > deadline:
            return run
        time.sleep(0.5)


def open_metered_account(api, *, number: int, name: str, apn: str, serial: str, installed_on: str,
                         email: str | None = None, bill_cycle: str = "1", initial_read: str = "100.00") -> str:
    """Customer, parcel, connection, account and an installed 5/8" meter, through the API; the account id."""
    address = {"line1": f"{number} Mesa Rd", "city": "Ojai", "zip": "93023"}
    customer = api("POST", "/customers", {"name": name, "mailing_address": address,
                                          **({"email": email} if email else {})})
    api("POST", "/parcels", {"apn": apn, "situs_address": address, "owner_of_record": name})
    connection = api("POST", "/connections", {"apn": apn, "authorized_meter_size": "5/8"})
    account = api("POST", "/accounts", {"customer_id": customer["customer_id"], "bill_cycle": bill_cycle,
                                        "connection_id": connection["connection_id"]})
    api("POST", "/meters", {"serial": serial, "size": "5/8"})
    api("POST", f"/meters/{serial}/installation", {"connection_id": connection["connection_id"],
                                                   "installed_on": installed_on, "initial_read": initial_read})
    return account["account_id"]
