"""The staff account page in headless Chromium (issue 9, case 9), every step through the real processes:
every date a person reads is a business date, every figure says whose it is and as of when, and when
billing's balance and collections' past due differ the page says why.

Two accounts on their own bill cycle ("P") in January-March 2027, dates no other e2e test runs collections
on: one customer without an email address (bills mailed), one paperless (bills emailed).
"""
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import wait_for
from e2e_support import on_day, open_metered_account, query

PACIFIC = ZoneInfo("America/Los_Angeles")
WALL_CLOCK_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:")


def open_account(api, number: int, name: str, email: str | None) -> str:
    serial = f"AP{number:08d}"
    account_id = open_metered_account(api, number=number, name=name, email=email, apn=f"088-200-{number:03d}",
                                      serial=serial, installed_on="2027-01-01", bill_cycle="P")
    reads = [{"meter_serial": serial, "read_at": datetime(2027, month, day, 22, 0, tzinfo=PACIFIC).isoformat(),
              "value": value, "unit": "HCF"} for month, day, value in ((1, 31, "107.00"), (2, 28, "114.00"))]
    publish_batches(config.amqp_uri(), [batch_envelope(f"account-page-{number}", reads)])
    wait_for(lambda: sum(r["source"] == "ami" for r in api(
        "GET", f"/accounts/{account_id}/reads", expect=(200, 404)).get("reads", [])) == 2, message="AMI reads stored")
    return account_id


def bill_cycle(api, period_start: str, period_end: str, accounts: list[str]) -> None:
    """Run cycle P and wait until notifications delivered every account's new bill."""
    run = api("POST", "/bill-runs", {"cycle": "P", "period_start": period_start, "period_end": period_end})
    wait_for(lambda: api("GET", f"/bill-runs/{run['run_id']}")["status"] == "completed", timeout=60,
             message="bill run completed")
    for account_id in accounts:
        bills = len(api("GET", f"/accounts/{account_id}/statement")["bills"])
        wait_for(lambda: sum(d["kind"] == "bill_notice" for d in api(
            "GET", f"/accounts/{account_id}/notices")["deliveries"]) == bills, timeout=30, message="bill delivered")


def collections_has_every_charge(api, account_id: str) -> dict | None:
    """Billing's statement, once collections holds a receivable for each of its bills and debits."""
    statement = api("GET", f"/accounts/{account_id}/statement")
    charges = len(statement["bills"]) + sum(Decimal(a["amount"]) > 0 for a in statement["adjustments"])
    held = query("collections", "select count(*) from receivables where account_id = :a", a=account_id)[0][0]
    return statement if held == charges else None


def notice_rows(page) -> list[dict]:
    return page.eval_on_selector_all("#notices tr[data-delivery-id]", """rows => rows.map(row => ({
        kind: row.dataset.kind, channel: row.dataset.channel, status: row.dataset.status,
        date: row.querySelector('.notice-date').textContent.trim(),
        to: row.querySelector('.notice-to').textContent.trim()}))""")


def test_account_page_reads_in_business_dates_names_each_addressee_and_explains_the_balance(api, staff_page, suite):
    api("PUT", "/business-date", {"business_date": "2027-01-01"})
    mailed = open_account(api, 1, "Ines Moreno", email=None)
    paperless = open_account(api, 2, "Tomas Weber", email="tomas@example.org")
    api("PUT", f"/accounts/{paperless}/bill-delivery", {"paperless": True, "changed_by": "csr.e2e"})

    api("PUT", "/business-date", {"business_date": "2027-02-01"})
    bill_cycle(api, "2027-01-01", "2027-01-31", [mailed, paperless])
    [first_bill] = api("GET", f"/accounts/{mailed}/statement")["bills"]
    on_day(api, date.fromisoformat(first_bill["due_on"]) + timedelta(days=1))  # past due: reminder, penalty

    api("PUT", "/business-date", {"business_date": "2027-03-01"})
    bill_cycle(api, "2027-02-01", "2027-02-28", [mailed, paperless])
    today = date(2027, 3, 2)
    on_day(api, today)
    statement = wait_for(lambda: collections_has_every_charge(api, mailed), timeout=30,
                         message="collections applied both bills and the penalty")
    second_bill = statement["bills"][1]
    past_due = Decimal(api("GET", f"/accounts/{mailed}/collections")["past_due_amount"])
    balance = Decimal(statement["balance"])
    assert balance > past_due > 0

    page = staff_page("customer_service_representative")
    page.goto(f"{suite.gateway_url}/accounts/{mailed}")

    # The page, the balance and the past due each say the business date they are as of.
    assert page.text_content("#page-business-date").strip() == today.isoformat()
    assert page.text_content("#balance").strip() == statement["balance"]
    assert "billing" in page.text_content("#billing-section dl")
    assert "all charges less payments and credits" in page.text_content("#balance-meaning")
    assert page.text_content("#balance-as-of").strip() == today.isoformat()
    assert Decimal(page.text_content("#past-due-amount").strip()) == past_due
    assert "unpaid after its due date" in page.text_content("#past-due-meaning")
    assert page.text_content("#past-due-as-of").strip() == today.isoformat()
    # They differ by the second bill, not yet due, and the page says so in one line.
    difference = page.text_content("#balance-difference")
    assert f"includes ${balance - past_due:,.2f} not yet due" in difference
    assert f"{second_bill['bill_id']} due {second_bill['due_on']}" in difference

    # Bills and notices sent: the business date and channel; a mailed bill names its addressee and address.
    rows = notice_rows(page)
    mailed_bills = [row for row in rows if row["kind"] == "bill_notice"]
    assert [row["channel"] for row in mailed_bills] == ["mail", "mail"]
    assert [row["date"] for row in mailed_bills] == ["2027-02-01", "2027-03-01"]
    assert all("Ines Moreno" in row["to"] and "1 Mesa Rd" in row["to"] for row in mailed_bills)
    assert any(row["kind"] == "past_due_notice" for row in rows)
    notices_text = page.text_content("#notices")
    assert "None" not in notices_text and not WALL_CLOCK_TIMESTAMP.search(notices_text)
    assert "None" not in page.text_content("main")

    page.goto(f"{suite.gateway_url}/accounts/{paperless}")
    assert "paperless, emailed to tomas@example.org" in page.text_content("#bill-delivery")
    emailed_bills = [row for row in notice_rows(page) if row["kind"] == "bill_notice"]
    assert [(row["channel"], row["to"], row["date"]) for row in emailed_bills] == [
        ("email", "tomas@example.org", "2027-02-01"), ("email", "tomas@example.org", "2027-03-01")]
    page.close()
