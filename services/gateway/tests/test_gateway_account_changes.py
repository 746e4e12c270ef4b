"""Account attributes, closing and staff adjustments through the gateway, on the real accounts and billing."""

from cis_runtime.testing import wait_for
from gateway_client import open_account_over_http, post


def test_attributes_adjustments_and_closing_over_http(gateway):
    base, http = gateway("accounts", "billing")
    account_id = open_account_over_http(http, base)[3].json()["account_id"]
    statement = f"{base}/api/accounts/{account_id}/statement"
    wait_for(lambda: http.get(statement, timeout=20).status_code == 200, message="billing to know the account")

    changed = http.patch(f"{base}/api/accounts/{account_id}/attributes", timeout=20,
                         json={"changed_by": "jlopez", "residents": 4, "budget_variance": "2"})
    assert changed.status_code == 400 and "budget_variance_reason" in changed.json()["fields"]
    changed = http.patch(f"{base}/api/accounts/{account_id}/attributes", timeout=20,
                         json={"changed_by": "jlopez", "residents": 4})
    assert (changed.status_code, changed.json()["residents"], changed.json()["revision"]) == (200, 4, 1)
    assert http.get(f"{base}/api/accounts/{account_id}/attributes", timeout=20).json() == changed.json()

    credit = post(http, base, f"/api/accounts/{account_id}/adjustments", {
        "kind": "credit", "amount": "10.00", "reason_code": "courtesy", "note": "Goodwill", "posted_by": "jlopez"})
    assert (credit.status_code, credit.json()["amount"], credit.json()["balance_due"]) == (201, "-10.00", "-10.00")
    shown = http.get(statement, timeout=20).json()
    assert (shown["balance"], [a["adjustment_id"] for a in shown["adjustments"]]) == (
        "-10.00", [credit.json()["adjustment_id"]])

    closed = post(http, base, f"/api/accounts/{account_id}/closing", {"reason": "move_out"})
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    again = post(http, base, f"/api/accounts/{account_id}/closing", {})
    assert again.status_code == 409
