"""The walking skeleton's story, every step through the real processes, broker and databases."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import wait_for


PACIFIC = ZoneInfo("America/Los_Angeles")
ADDRESS = {"line1": "40 Foothill Rd", "city": "Ojai", "zip": "93023"}


def test_account_to_bill_to_past_due_notice_to_payment(api, mailbox, staff_page, suite):
    # 1. Staff set up customer, parcel, authorized connection and account.
    api("PUT", "/business-date", {"business_date": "2026-04-01"})
    customer = api("POST", "/customers", {"name": "Rosa Delgado", "email": "rosa@example.org",
                                          "mailing_address": ADDRESS})
    api("POST", "/parcels", {"apn": "022-333-444", "situs_address": ADDRESS, "owner_of_record": "Rosa Delgado"})
    connection = api("POST", "/connections", {"apn": "022-333-444", "authorized_meter_size": "5/8"})
    account = api("POST", "/accounts", {"customer_id": customer["customer_id"],
                                        "connection_id": connection["connection_id"]})
    account_id = account["account_id"]
    assert account["opened_on"] == "2026-04-01"
    # Rosa chose paperless bills (every other customer's bill is printed for the mail house).
    api("PUT", f"/accounts/{account_id}/bill-delivery", {"paperless": True, "changed_by": "e2e"})

    # 2. Metering registers and installs a meter; the AMI head-end publishes reads.
    api("POST", "/meters", {"serial": "E2E0000001", "size": "5/8"})
    api("POST", "/meters/E2E0000001/installation", {"connection_id": connection["connection_id"],
                                                      "installed_on": "2026-04-01", "initial_read": "500.00"})
    read_at = datetime(2026, 4, 30, 22, 0, tzinfo=PACIFIC).isoformat()
    publish_batches(config.amqp_uri(), [batch_envelope("e2e-april", [
        {"meter_serial": "E2E0000001", "read_at": read_at, "value": "512.00", "unit": "HCF"}])])
    # Metering learns of the account from account_opened, asynchronously: 404 until then.
    wait_for(lambda: any(r["source"] == "ami" for r in
                         api("GET", f"/accounts/{account_id}/reads", expect=(200, 404)).get("reads", [])),
             message="AMI read stored")

    # 3. Billing runs the cycle: 12 HCF on a 5/8" meter = 20.75 fixed + 12 x 3.65.
    api("PUT", "/business-date", {"business_date": "2026-05-01"})
    run = api("POST", "/bill-runs", {"cycle": "1", "period_start": "2026-04-01", "period_end": "2026-04-30"})
    wait_for(lambda: api("GET", f"/bill-runs/{run['run_id']}")["status"] == "completed", timeout=60,
             message="bill run completed")
    [bill] = api("GET", f"/accounts/{account_id}/statement")["bills"]
    assert Decimal(bill["total"]) == Decimal("64.55")
    assert sum(Decimal(line["amount"]) for line in bill["lines"]) == Decimal("64.55")

    # 4. Notifications emails the e-bill through SMTP and records it.
    wait_for(lambda: mailbox.to("rosa@example.org"), message="bill notice email")
    assert "64.55" in mailbox.to("rosa@example.org")[0]["body"]

    # 5. The due date passes unpaid: delinquent, past-due notice requested and sent.
    api("PUT", "/business-date", {"business_date": "2026-06-01"})
    status = wait_for(lambda: (s := api("GET", f"/accounts/{account_id}/collections"))["status"] == "delinquent" and s,
                      timeout=30, message="account delinquent")
    assert Decimal(status["past_due_amount"]) == Decimal("64.55")
    wait_for(lambda: len(mailbox.to("rosa@example.org")) == 2, message="past-due notice email")
    kinds = {d["kind"] for d in api("GET", f"/accounts/{account_id}/notices")["deliveries"]}
    assert kinds == {"bill_notice", "past_due_notice"}

    # Billing posts the basic late penalty collections asks for: 10% of 64.55 under the demo
    # tariff's penalties (Gov. Code 61115), an adjustment; the bill itself is unchanged.
    statement = wait_for(lambda: (s := api("GET", f"/accounts/{account_id}/statement"))["adjustments"] and s,
                         timeout=30, message="late penalty posted")
    [penalty] = statement["adjustments"]
    assert (penalty["kind"], Decimal(penalty["amount"]), penalty["bill_id"]) == (
        "late_penalty", Decimal("6.46"), bill["bill_id"])
    assert Decimal(statement["balance"]) == Decimal("71.01")

    # 6. A payment clears the balance and the delinquency.
    payment = api("POST", "/payments", {"account_id": account_id, "amount": "71.01", "method": "check",
                                        "reference": "CHK-7781"})
    assert Decimal(payment["balance_after"]) == 0
    wait_for(lambda: api("GET", f"/accounts/{account_id}/collections")["status"] == "current",
             message="delinquency cleared")

    # 7. The staff page shows all of it, in a real browser.
    page = staff_page("billing_technician")
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    assert page.text_content("#customer-name").strip() == "Rosa Delgado"
    assert page.text_content("#apn").strip() == "022-333-444"
    assert "0.00" in page.text_content("#balance")
    assert page.locator(f"#bills tr[data-bill-id='{bill['bill_id']}']").count() == 1
    assert "64.55" in page.text_content("#bills")
    assert "CHK-7781" in page.text_content("#payments")
    assert "512" in page.text_content("#reads")
    assert page.locator("#notices [data-kind='past_due_notice']").count() == 1
    assert "current" in page.text_content("#collections-status").lower()
    # why the bill is this amount: each line names its tariff version and charge
    usage_line = page.locator(f"tr[data-lines-of='{bill['bill_id']}'] tr.bill-line[data-line-no='2']")
    assert usage_line.locator(".line-tariff").text_content().strip() == "residential@1 charges[1]"
    assert usage_line.locator(".line-amount").text_content().strip() == "43.80"

    # 8. A staff credit is an adjustment (the bill stays as issued); the customer moves out.
    balance_before = Decimal(api("GET", f"/accounts/{account_id}/statement")["balance"])
    credit = api("POST", f"/accounts/{account_id}/adjustments", {
        "kind": "credit", "amount": "5.00", "reason_code": "courtesy", "note": "Goodwill", "posted_by": "e2e"})
    assert Decimal(credit["balance_due"]) == balance_before - Decimal("5.00")
    assert api("POST", f"/accounts/{account_id}/closing", {"reason": "move_out"})["status"] == "closed"
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    assert page.locator(f"#adjustments tr[data-adjustment-id='{credit['adjustment_id']}']").count() == 1
    assert page.text_content("#balance").strip() == credit["balance_due"]
    assert "64.55" in page.text_content("#bills")
    assert page.text_content("#account-status").strip() == "closed"
    page.close()
