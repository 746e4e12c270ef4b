"""The staff collections worklist page in headless Chromium, every step through the real processes.

Two accounts on their own bill cycle ("W") and in January-April 2026, dates no other e2e test runs
collections on (a daily run happens once per business date): one comes due for the 48-hour contact
attempt (Gov. Code 60373), the other is held by an appeal (H&S 116908; Gov. Code 60372).
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import wait_for
from e2e_support import on_day, query

PACIFIC = ZoneInfo("America/Los_Angeles")


def open_account(api, number: int, name: str) -> str:
    address = {"line1": f"{number} Canyon Rd", "city": "Ojai", "zip": "93023"}
    customer = api("POST", "/customers", {"name": name, "email": f"worklist{number}@example.org",
                                          "mailing_address": address})
    apn = f"077-100-{number:03d}"
    api("POST", "/parcels", {"apn": apn, "situs_address": address, "owner_of_record": name})
    connection = api("POST", "/connections", {"apn": apn, "authorized_meter_size": "5/8"})
    account = api("POST", "/accounts", {"customer_id": customer["customer_id"], "bill_cycle": "W",
                                        "connection_id": connection["connection_id"]})
    serial = f"WL{number:08d}"
    api("POST", "/meters", {"serial": serial, "size": "5/8"})
    api("POST", f"/meters/{serial}/installation", {"connection_id": connection["connection_id"],
                                                   "installed_on": "2026-01-01", "initial_read": "100.00"})
    read_at = datetime(2026, 1, 31, 22, 0, tzinfo=PACIFIC).isoformat()
    publish_batches(config.amqp_uri(), [batch_envelope(f"worklist-{number}", [
        {"meter_serial": serial, "read_at": read_at, "value": "112.00", "unit": "HCF"}])])
    return account["account_id"]


def test_collections_worklist_page_shows_what_is_due_why_and_what_blocks_it(api, staff_page, suite):
    api("PUT", "/business-date", {"business_date": "2026-01-01"})
    due_account = open_account(api, 1, "Marta Quinn")
    held_account = open_account(api, 2, "Omar Haddad")
    for account_id in (due_account, held_account):
        wait_for(lambda: any(r["source"] == "ami" for r in api(
            "GET", f"/accounts/{account_id}/reads", expect=(200, 404)).get("reads", [])), message="AMI read stored")

    api("PUT", "/business-date", {"business_date": "2026-02-01"})
    run = api("POST", "/bill-runs", {"cycle": "W", "period_start": "2026-01-01", "period_end": "2026-01-31"})
    wait_for(lambda: api("GET", f"/bill-runs/{run['run_id']}")["status"] == "completed", timeout=60,
             message="bill run completed")
    [bill] = api("GET", f"/accounts/{due_account}/statement")["bills"]
    due_on = date.fromisoformat(bill["due_on"])
    wait_for(lambda: query("collections", "select count(*) from receivables where account_id in (:a, :b)",
                           a=due_account, b=held_account) == [(2,)], message="collections has both bills")

    # Past due, then the shutoff notice: the mail house prints it and reports it mailed.
    on_day(api, due_on + timedelta(days=1))
    on_day(api, due_on + timedelta(days=30))
    wait_for(lambda: query("collections", "select count(*) from collection_accounts where account_id in (:a, :b) "
                                          "and shutoff_notice_mailed_on is not null",
                           a=due_account, b=held_account) == [(2,)], timeout=60, message="shutoff notices mailed")
    timeline = api("GET", f"/accounts/{due_account}/collections/timeline")
    [contact_on] = [date.fromisoformat(u["on"]) for u in timeline["upcoming"] if u["kind"] == "contact_attempt"]
    api("POST", f"/accounts/{held_account}/appeals", {"kind": "appeal"})
    on_day(api, contact_on)

    page = staff_page("collections")
    page.goto(f"{suite.gateway_url}/")
    page.click("#worklist-link")
    assert page.text_content("#worklist-business-date").strip() == contact_on.isoformat()

    due_row = page.locator(f"tr.worklist-account[data-account-id='{due_account}']")
    assert "Marta Quinn" in due_row.text_content()
    contact = due_row.locator(".due-action[data-kind='contact_attempt']")
    assert contact.locator(".citation").text_content().strip() == "Gov. Code 60373; H&S 116908(a)(2)"
    assert "48 hours" in contact.locator(".why").text_content()
    assert due_row.locator(".shutoff-on").text_content().strip() == timeline["shutoff_on"]
    assert due_row.locator(".block").count() == 0

    held_row = page.locator(f"tr.worklist-account[data-account-id='{held_account}']")
    block = held_row.locator(".block[data-rule='no_shutoff_during_appeal']")
    assert "pending" in block.text_content() and "H&S 116908; Gov. Code 60372" in block.text_content()
    assert held_row.locator(".due-action[data-kind='contact_attempt']").count() == 0

    # The account link opens the account page.
    due_row.locator(f"a[href='/accounts/{due_account}']").click()
    page.wait_for_url(f"**/accounts/{due_account}")
    assert page.text_content("#customer-name").strip() == "Marta Quinn"

    # Another day by the form; a malformed date is a 400 page naming the field.
    page.goto(f"{suite.gateway_url}/collections/worklist")
    page.fill("#worklist-date input[name='date']", (due_on - timedelta(days=1)).isoformat())
    page.click("#worklist-date button")
    assert page.locator(f"tr.worklist-account[data-account-id='{due_account}']").count() == 0  # not yet due
    response = page.goto(f"{suite.gateway_url}/collections/worklist?date=June-17")
    assert response.status == 400 and "business_date" in page.text_content("#error")
    page.close()
