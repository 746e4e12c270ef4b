"""Staff do their work in the browser (issue 11): post a payment, post an adjustment, resolve a read exception.

Each workflow logs in as the role that does it, fills the form, sees the service's field errors next to the
fields, confirms, and sees the result on the page; what the page says is checked against the owner
service's own answer, and submitting the same confirmation twice posts nothing twice.
"""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cis_runtime import config
from cis_runtime.ami_headend import batch_envelope, publish_batches
from cis_runtime.testing import wait_for
from e2e_support import open_metered_account

PACIFIC = ZoneInfo("America/Los_Angeles")


def confirmation_form(page) -> tuple[str, dict]:
    """The confirmation form's target and fields, to submit it a second time as a double click would."""
    target = page.locator("#action-confirm form").get_attribute("action")
    fields = page.eval_on_selector_all("#action-confirm form input[type=hidden]",
                                       "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))")
    return target, {**fields, "step": "confirm"}


def known_to_billing(api, account_id: str) -> None:
    wait_for(lambda: api("GET", f"/accounts/{account_id}/statement", expect=(200, 404)).get("account_id"),
             message="billing to know the account")


def test_a_customer_service_representative_posts_a_payment_through_the_form(api, staff_page, suite):
    account_id = open_metered_account(api, number=301, name="Rosa Diaz", apn="088-300-301", serial="ACT0000301",
                                      installed_on="2027-01-01")
    known_to_billing(api, account_id)
    page = staff_page("customer_service_representative")
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    assert page.locator("#post-adjustment").count() == 0  # a CSR may not post adjustments: not offered
    page.locator("#post-payment").click()

    page.locator("#f-amount").fill("12.50")
    page.locator("#f-method").select_option("check")
    page.locator("#review").click()
    assert page.locator('.has-problem[data-field="reference"] #e-reference').inner_text() == "Required."
    assert page.locator("#f-amount").input_value() == "12.50"  # what was typed is kept

    page.locator("#f-reference").fill("CHK-5001")
    page.locator("#review").click()
    assert page.locator('#confirm-values dd[data-field="amount"]').inner_text() == "12.50"
    assert api("GET", f"/accounts/{account_id}/statement")["payments"] == []  # nothing posted before confirming
    target, confirmed = confirmation_form(page)
    page.locator("#confirm").click()

    page.wait_for_url(f"**/accounts/{account_id}#payments")
    done = page.locator("#action-done").inner_text()
    statement = api("GET", f"/accounts/{account_id}/statement")
    [payment] = statement["payments"]
    assert (payment["amount"], payment["method"], payment["reference"]) == ("12.50", "check", "CHK-5001")
    assert f"Payment {payment['payment_id']} of $12.50 posted" in done
    assert page.locator(f'#payments tr[data-payment-id="{payment["payment_id"]}"]').count() == 1

    again = page.request.post(suite.gateway_url + target, form=confirmed)  # the same confirmation once more
    assert again.status == 409 and "already posted" in again.text()
    assert len(api("GET", f"/accounts/{account_id}/statement")["payments"]) == 1


def test_a_supervisor_posts_a_credit_once_however_often_it_is_confirmed(api, staff_page, suite):
    account_id = open_metered_account(api, number=302, name="Omar Haddad", apn="088-300-302", serial="ACT0000302",
                                      installed_on="2027-01-01")
    known_to_billing(api, account_id)
    page = staff_page("supervisor")
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    page.locator("#post-adjustment").click()
    page.locator("#f-kind").select_option("credit")
    page.locator("#f-amount").fill("5.00")
    page.locator("#f-reason_code").select_option("courtesy")
    page.locator("#f-note").fill("Courtesy credit: meter box lid replaced late")
    page.locator("#review").click()
    target, confirmed = confirmation_form(page)
    page.locator("#confirm").click()
    page.wait_for_url(f"**/accounts/{account_id}#adjustments")

    [adjustment] = api("GET", f"/accounts/{account_id}/statement")["adjustments"]
    assert (Decimal(adjustment["amount"]).copy_abs(), adjustment["kind"]) == (Decimal("5.00"), "credit")
    assert f"Credit {adjustment['adjustment_id']} of $5.00 posted" in page.locator("#action-done").inner_text()
    assert page.locator(f'#adjustments tr[data-adjustment-id="{adjustment["adjustment_id"]}"]').count() == 1

    again = page.request.post(suite.gateway_url + target, form=confirmed)  # the same request id once more
    assert again.ok and adjustment["adjustment_id"] in again.text()  # billing answers the one it posted
    assert len(api("GET", f"/accounts/{account_id}/statement")["adjustments"]) == 1


def test_a_billing_technician_corrects_a_misread_from_the_exceptions_worklist(api, staff_page, suite):
    serial = "ACT0000303"
    account_id = open_metered_account(api, number=303, name="Lena Park", apn="088-300-303", serial=serial,
                                      installed_on="2027-04-01")
    # 300 HCF in a month on a 5/8" residential meter: beyond the class ceiling (a misread, 400 for 130)
    read_at = datetime(2027, 4, 30, 22, 0, tzinfo=PACIFIC).isoformat()
    publish_batches(config.amqp_uri(), [batch_envelope("staff-actions-misread", [
        {"meter_serial": serial, "read_at": read_at, "value": "400.00", "unit": "HCF"}])])

    def exception():
        listed = api("GET", f"/read-exceptions?meter_serial={serial}")["exceptions"]
        return next((e for e in listed if e["rule"] == "consumption_ceiling"), None)
    wait_for(exception, message="the ceiling exception on the worklist")
    exception_id = exception()["exception_id"]

    page = staff_page("billing_technician")
    page.goto(f"{suite.gateway_url}/read-exceptions?rule=consumption_ceiling")
    page.locator(f'tr[data-exception-id="{exception_id}"] a').click()
    page.locator("#f-action").select_option("edit")
    page.locator("#f-reason").fill("Misread: the register shows 130")
    page.locator("#review").click()
    page.locator("#confirm").click()
    assert page.locator('.has-problem[data-field="new_value"]').count() == 1  # metering: an edit needs the reading

    page.locator("#f-new_value").fill("130.00")
    page.locator("#review").click()
    page.locator("#confirm").click()
    page.wait_for_url("**/read-exceptions")
    assert f"Read exception {exception_id} resolved" in page.locator("#action-done").inner_text()
    assert page.locator(f'tr[data-exception-id="{exception_id}"]').count() == 0
    [corrected] = [r for r in api("GET", f"/accounts/{account_id}/reads")["reads"] if r["read_at"].startswith("2027-04-30")]
    assert (Decimal(corrected["value"]), Decimal(corrected["validated_value"]), corrected["quality"]) == (
        Decimal("400"), Decimal("130"), "edited")  # what the meter said is kept; billing uses the correction
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    row = page.locator('#reads tr[data-quality="edited"]')
    assert Decimal(row.locator(".read-billed-as").inner_text()) == Decimal("130")


def test_a_billing_technician_enters_a_manual_read_in_district_time_and_sees_it_on_the_account(api, staff_page, suite):
    account_id = open_metered_account(api, number=304, name="Ana Ruiz", apn="088-300-304", serial="ACT0000304",
                                      installed_on="2027-01-01")
    page = staff_page("billing_technician")
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    page.locator('#meters tr[data-meter-serial="ACT0000304"] .enter-read').click()  # from the account's meters
    page.wait_for_url("**/meters/ACT0000304/reads/new")
    assert page.locator("#cancel").get_attribute("href") == f"/accounts/{account_id}#reads"  # back where it began
    assert page.locator("#action-subject").inner_text() == f"Meter ACT0000304 · account {account_id}"

    page.locator("#f-read_at").fill("2027-01-20T09:30")
    page.locator("#f-source").select_option("manual")
    page.locator("#f-reason").fill("AMI endpoint silent")
    page.locator("#review").click()
    assert page.locator('.has-problem[data-field="value"] #e-value').inner_text() == "Required."
    assert page.locator("#f-reason").input_value() == "AMI endpoint silent"  # what was typed is kept

    page.locator("#f-value").fill("112")
    page.locator("#review").click()
    assert manual_reads(api, account_id) == []  # nothing entered before confirming
    page.locator("#confirm").click()

    page.wait_for_url(f"**/accounts/{account_id}#reads")
    assert "Read of 112" in page.locator("#action-done").inner_text()
    [read] = manual_reads(api, account_id)
    # 09:30 typed on the form is District (Pacific) time: 17:30 UTC in January
    assert datetime.fromisoformat(read["read_at"]).astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M") == "2027-01-20 09:30"
    assert Decimal(read["value"]) == Decimal("112")


def manual_reads(api, account_id: str) -> list:
    return [r for r in api("GET", f"/accounts/{account_id}/reads")["reads"] if r.get("source") == "manual"]


def test_a_billing_technician_exchanges_a_meter_from_the_account_page(api, staff_page, suite):
    account_id = open_metered_account(api, number=305, name="Luis Ortega", apn="088-300-305", serial="ACT0000305",
                                      installed_on="2027-01-01")
    api("POST", "/meters", {"serial": "ACT0000306", "size": "5/8"})  # the new meter, from the warehouse
    page = staff_page("billing_technician")
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    page.locator('#meters tr[data-meter-serial="ACT0000305"] .exchange-meter').click()
    page.wait_for_url("**/meters/ACT0000305/exchange/new")

    page.locator("#f-exchanged_on").fill("2027-01-21")
    page.locator("#f-old_final_read").fill("131")
    page.locator("#f-new_serial").fill("ACT0000306")
    page.locator("#f-new_initial_read").fill("0")
    page.locator("#f-reason").fill("Register fogged, meter replaced")
    page.locator("#review").click()
    assert [(m["serial"], m["removed_on"]) for m in api("GET", f"/accounts/{account_id}/reads")["meters"]] == [
        ("ACT0000305", None)]  # nothing changed before confirming
    page.locator("#confirm").click()

    assert "Meter ACT0000305 exchanged for ACT0000306 on 2027-01-21." in page.locator("#action-done").inner_text()
    meters = api("GET", f"/accounts/{account_id}/reads")["meters"]
    assert [(m["serial"], m["removed_on"]) for m in meters] == [("ACT0000306", None), ("ACT0000305", "2027-01-21")]
    page.goto(f"{suite.gateway_url}/accounts/{account_id}")
    rows = page.locator("#meters tr[data-meter-serial]")
    assert rows.evaluate_all("rows => rows.map(r => [r.dataset.meterSerial, r.dataset.installed])") == [
        ["ACT0000306", "yes"], ["ACT0000305", "no"]]
    assert page.locator('#meters tr[data-meter-serial="ACT0000305"] .removed-on').inner_text() == "2027-01-21"
    assert page.locator('#meters tr[data-meter-serial="ACT0000305"] .exchange-meter').count() == 0  # gone from service


def test_an_exchange_of_a_meter_serving_no_account_ends_on_its_search_with_what_was_done(api, staff_page, suite):
    """A meter on a vacant connection (no account): the exchange ends on the search for the new meter,
    which says what was done (every page shows the last action's message)."""
    address = {"line1": "307 Mesa Rd", "city": "Ojai", "zip": "93023"}
    api("POST", "/parcels", {"apn": "088-300-307", "situs_address": address, "owner_of_record": "Vacant Lot LLC"})
    connection = api("POST", "/connections", {"apn": "088-300-307", "authorized_meter_size": "5/8"})
    api("POST", "/meters", {"serial": "ACT0000307", "size": "5/8"})
    api("POST", "/meters/ACT0000307/installation", {"connection_id": connection["connection_id"],
                                                    "installed_on": "2027-01-01", "initial_read": "40.00"})
    api("POST", "/meters", {"serial": "ACT0000308", "size": "5/8"})
    page = staff_page("billing_technician")
    page.goto(f"{suite.gateway_url}/meters/ACT0000307/exchange/new")
    assert page.locator("#action-subject").inner_text() == (
        f"Meter ACT0000307 · connection {connection['connection_id']}, no account")

    page.locator("#f-exchanged_on").fill("2027-01-22")
    page.locator("#f-old_final_read").fill("41")
    page.locator("#f-new_serial").fill("ACT0000308")
    page.locator("#f-new_initial_read").fill("0")
    page.locator("#f-reason").fill("Register fogged, meter replaced")
    page.locator("#review").click()
    page.locator("#confirm").click()

    page.wait_for_url("**/search?q=ACT0000308")  # the meter now in service
    assert "Meter ACT0000307 exchanged for ACT0000308 on 2027-01-22." in page.locator("#action-done").inner_text()
