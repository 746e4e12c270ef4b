"""The staff pages: server-rendered, escaped, and still useful when a backing service is down."""

from gateway_client import ADDRESS, open_account_over_http, post


def test_account_page_shows_customer_and_parcel_and_marks_down_services_unavailable(gateway):
    base, http = gateway("accounts")
    *_, account = open_account_over_http(http, base)
    account_id = account.json()["account_id"]

    page = http.get(f"{base}/accounts/{account_id}", timeout=20)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert '<dd id="customer-name">Ana Reyes</dd>' in html
    assert '<dd id="apn">011-222-333</dd>' in html
    assert "12 Orchard Ln, Ojai, CA 93023" in html
    for section in ("billing-section", "collections-section", "notices-section", "metering-section"):
        assert f'<section id="{section}" data-state="unavailable">' in html
    assert '<span id="balance" class="unavailable">unavailable</span>' in html
    assert 'id="collections-status" class="unavailable" data-status="unavailable">unavailable<' in html


def test_account_page_escapes_what_customers_typed(gateway):
    base, http = gateway("accounts")
    customer = post(http, base, "/api/customers", {"name": "<script>alert(1)</script> & Sons",
                                             "mailing_address": ADDRESS})
    post(http, base, "/api/parcels", {"apn": "011-222-555", "situs_address": ADDRESS, "owner_of_record": "O'Neil"})
    connection = post(http, base, "/api/connections", {"apn": "011-222-555", "authorized_meter_size": "1"})
    account = post(http, base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                           "connection_id": connection.json()["connection_id"]}).json()

    html = http.get(f"{base}/accounts/{account['account_id']}", timeout=20).text

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in html


def test_unknown_account_page_is_a_404_page(gateway):
    base, http = gateway("accounts")
    page = http.get(f"{base}/accounts/A-404", timeout=20)

    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'data-error="not_found"' in page.text
    assert "account A-404 not found" in page.text


def test_home_page_offers_search_and_lists_no_account(gateway):
    """Issue 11: no page lists every account; the home page is the search box and the business date."""
    base, http = gateway("accounts")
    *_, account = open_account_over_http(http, base)
    account_id = account.json()["account_id"]

    html = http.get(f"{base}/", timeout=20).text

    assert account_id not in html and "Ana Reyes" not in html
    assert '<form method="get" action="/search" role="search" id="home-search-form">' in html
    assert '<span id="business-date" class="unavailable">unavailable</span>' in html  # billing is not running
