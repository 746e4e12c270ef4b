"""Collections staff actions through the gateway: the path's account id reaches the contract,
bad bodies are named field by field, and the worklist and statutory counts are reachable."""

from cis_contracts.registry import get
from cis_runtime.testing import wait_for

from gateway_client import post


def test_staff_record_an_appeal_for_the_account_in_the_path(gateway, publish):
    base, http = gateway("collections")
    opened = get("accounts.account_opened.v1").examples()[0]
    publish("accounts.account_opened.v1", opened)
    account = opened["account_id"]
    wait_for(lambda: http.get(f"{base}/api/accounts/{account}/collections/timeline", timeout=20).status_code
             == 200, message="collections knows the account")

    missing_date = post(http, base, f"/api/accounts/{account}/extensions", {})
    assert missing_date.status_code == 400
    assert "until" in missing_date.json()["fields"]

    # no bill to dispute: out of the Gov. Code 60372(c) window, named by field
    dispute = post(http, base, f"/api/accounts/{account}/appeals", {"kind": "dispute", "filed_on": "2026-05-04"})
    assert dispute.status_code == 400 and "60372(c)" in dispute.json()["fields"]["filed_on"][0]
    appeal = post(http, base, f"/api/accounts/{account}/appeals", {"kind": "appeal", "filed_on": "2026-05-04"})
    assert appeal.status_code == 201, appeal.text
    assert appeal.json()["account_id"] == account

    worklist = http.get(base + "/api/collections/worklist", params={"date": "2026-05-04"}, timeout=20)
    assert worklist.status_code == 200, worklist.text
    count = http.get(base + "/api/collections/discontinuations/2026", timeout=20)
    assert count.status_code == 200 and count.json()["year"] == 2026


def test_staff_flag_a_tenant_occupied_rental_and_low_income_evidence_through_the_gateway(gateway, publish):
    base, http = gateway("collections")
    opened = get("accounts.account_opened.v1").examples()[0]
    publish("accounts.account_opened.v1", opened)
    account = opened["account_id"]
    path = f"{base}/api/accounts/{account}/collections/flags"
    wait_for(lambda: http.get(f"{base}/api/accounts/{account}/collections/timeline", timeout=20).status_code
             == 200, message="collections knows the account")

    missing = http.put(path, json={"low_income": True, "changed_by": "clerk7"}, timeout=20)
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"low_income_evidence", "low_income_verified_on"}
    flagged = http.put(path, json={"tenant_occupied": True, "low_income": True, "low_income_evidence": "wic",
                                       "low_income_verified_on": "2026-04-01", "changed_by": "clerk7"}, timeout=20)
    assert flagged.status_code == 200, flagged.text
    assert flagged.json()["account_id"] == account
    unknown = http.put(f"{base}/api/accounts/A9999999/collections/flags",
                       json={"tenant_occupied": True, "changed_by": "clerk7"}, timeout=20)
    assert unknown.status_code == 404
