"""HTTP helpers the gateway tests share (`http`: a requests.Session carrying an API token), and the browser."""
import sys
import textwrap

ADDRESS = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}


def post(http, base, path, body, **kwargs):
    return http.post(base + path, json=body, timeout=20, **kwargs)


def open_account_over_http(http, base, apn="011-222-333"):
    customer = post(http, base, "/api/customers", {"name": "Ana Reyes", "email": "ana@example.org",
                                                   "mailing_address": ADDRESS})
    parcel = post(http, base, "/api/parcels", {"apn": apn, "situs_address": ADDRESS, "owner_of_record": "Ana Reyes"})
    connection = post(http, base, "/api/connections", {"apn": apn, "authorized_meter_size": "5/8"})
    account = post(http, base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                                 "connection_id": connection.json()["connection_id"]})
    return customer, parcel, connection, account


# Playwright's sync API blocks the OS thread, and the services and the server under test run as green threads
# in this (eventlet-patched) process, so the browser is driven from a child process: `page` is ready, the
# test's arguments are in sys.argv, and what the script prints comes back.
BROWSER_PRELUDE = """
import shutil, sys
from playwright.sync_api import sync_playwright, expect
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
        headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--disable-component-update", "--no-first-run"])
    page = browser.new_page()
"""


def run_in_browser(body: str, *argv: str, timeout: float = 120):
    """Run `body` (Playwright statements using `page`) in headless Chromium; the finished process."""
    from eventlet.green import subprocess

    script = BROWSER_PRELUDE + textwrap.indent(textwrap.dedent(body), "    ") + "    browser.close()\n"
    return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=timeout)
