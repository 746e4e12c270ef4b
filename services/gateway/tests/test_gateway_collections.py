"""Collections staff actions through the gateway: the path's account id reaches the contract,
bad bodies are named field by field, and the worklist and statutory counts are reachable."""
import requests

from cis_contracts.registry import get
from cis_runtime.testing import wait_for

from gateway_client import post


def test_staff_record_an_appeal_for_the_account_in_the_path(gateway, publish):
    base = gateway("collections")
    opened = get("accounts.account_opened.v1").examples()[0]
    publish("accounts.account_opened.v1", opened)
    account = opened["account_id"]
    wait_for(lambda: requests.get(f"{base}/api/accounts/{account}/collections/timeline", timeout=20).status_code
             == 200, message="collections knows the account")

    missing_date = post(base, f"/api/accounts/{account}/extensions", {})
    assert missing_date.status_code == 400
    assert "until" in missing_date.json()["fields"]

    appeal = post(base, f"/api/accounts/{account}/appeals", {"filed_on": "2026-05-04"})
    assert appeal.status_code == 201, appeal.text
    assert appeal.json()["account_id"] == account

    worklist = requests.get(base + "/api/collections/worklist", params={"date": "2026-05-04"}, timeout=20)
    assert worklist.status_code == 200, worklist.text
    count = requests.get(base + "/api/collections/discontinuations/2026", timeout=20)
    assert count.status_code == 200 and count.json()["year"] == 2026
