"""The collections worklist page: rendered from what collections answers (collections.worklist.v2), and
through the gateway with the collections service running."""
import json
import re
from html import escape


from cis_contracts.registry import EXAMPLES_DIR, get
from cis_gateway.pages import Section, render_collections_worklist, render_error
from cis_runtime.testing import wait_for
from gateway_client import post

EXAMPLE = json.loads((EXAMPLES_DIR / "collections.worklist.v2.json").read_text())


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="worklist-account" data-account-id="([^"]+)"', html)


def test_worklist_page_shows_each_due_action_with_its_section_and_each_block_with_a_link_to_the_account():
    html = render_collections_worklist(Section(EXAMPLE), Section("2026-06-17"))
    assert rows(html) == [entry["account_id"] for entry in EXAMPLE["accounts"]]
    for entry in EXAMPLE["accounts"]:
        assert f'href="/accounts/{entry["account_id"]}"' in html
        for action in entry["due"]:
            assert escape(action["rule"]["citation"], quote=False) in html and action["why"] in html
        for block in entry["blocked_by"]:
            assert block["detail"] in html and escape(block["rule"]["citation"], quote=False) in html


def test_worklist_page_escapes_names_and_says_when_collections_did_not_answer():
    entry = {**EXAMPLE["accounts"][0], "customer_name": "<script>alert(1)</script>"}
    html = render_collections_worklist(Section({**EXAMPLE, "accounts": [entry]}), Section("2026-06-17"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    down = render_collections_worklist(Section(state="unavailable"), Section("2026-06-17"))
    assert 'data-state="unavailable"' in down and rows(down) == []
    empty = render_collections_worklist(Section({"business_date": "2026-06-17", "accounts": []}), Section("x"))
    assert 'id="worklist-empty"' in empty


def test_an_invalid_input_page_names_the_field_to_correct():
    html = render_error(400, "invalid_input", "The request has invalid fields.",
                        {"business_date": ["Give the date as YYYY-MM-DD."]})
    assert '<li data-field="business_date"><strong>business_date</strong>: Give the date as YYYY-MM-DD.</li>' in html


def test_the_worklist_by_account_and_its_page_through_the_gateway(gateway, publish):
    base, http = gateway("collections")
    opened, bill = get("accounts.account_opened.v1").examples()[0], get("billing.bill_issued.v1").examples()[0]
    publish("accounts.account_opened.v1", opened)
    account = opened["account_id"]
    wait_for(lambda: http.get(f"{base}/api/accounts/{account}/collections/timeline", timeout=20).status_code
             == 200, message="collections knows the account")
    publish("billing.bill_issued.v1", {**bill, "account_id": account})
    # the bill reached the customer (collections counts from its delivery; an undelivered bill starts nothing)
    [mailed] = [d for d in get("notifications.bill_delivered.v1").examples() if d["channel"] == "mail"]
    publish("notifications.bill_delivered.v1", {**mailed, "bill_id": bill["bill_id"], "account_id": account,
                                                "delivered_on": bill["issued_on"]})
    day = "2026-05-04"  # the bill (due 23 April) is past due
    wait_for(lambda: http.get(f"{base}/api/collections/worklist/by-account", params={"date": day},
                              timeout=20).json()["accounts"], message="the bill on the worklist")
    assert post(http, base, f"/api/accounts/{account}/appeals", {"kind": "appeal", "filed_on": day}).status_code == 201

    [entry] = http.get(f"{base}/api/collections/worklist/by-account", params={"date": day}, timeout=20).json()[
        "accounts"]
    assert (entry["account_id"], entry["customer_name"]) == (account, opened["customer_name"])
    assert [b["rule"]["citation"] for b in entry["blocked_by"]] == ["H&S 116908; Gov. Code 60372"]
    page = http.get(f"{base}/collections/worklist", params={"date": day}, timeout=20)
    assert page.status_code == 200 and f'data-account-id="{account}"' in page.text
    assert 'data-rule="no_shutoff_during_appeal"' in page.text
    bad = http.get(f"{base}/collections/worklist", params={"date": "4 May"}, timeout=20)
    assert bad.status_code == 400 and 'data-field="business_date"' in bad.text
