"""Staff search (issue 11): `GET /search?q=&page=` (the page) and `GET /api/search?q=&page=` (JSON).

Accounts answers by customer name, email, phone, APN, account id, service and mailing address
(accounts.search_accounts, paged); metering answers by meter serial or AMI endpoint id
(metering.find_meters). Both are asked at once under one deadline (rpc_client.call_all); the meters
found lead the list (a serial names one account), then the accounts, each account once. A service that
does not answer leaves its part out and the page says so; no page lists every account.
"""
from importlib import resources

from flask import Blueprint, Response, request

from cis_gateway import pages
from cis_gateway.web import html, json_response, rpc
from cis_runtime.errors import InvalidInput

PAGE_SIZE = 20
LAST_PAGE = 50  # accounts.search_accounts_request.v1 pages at most 1,000 results deep
SHORTEST_QUERY = 2
METER_MATCHES = ("meter_serial", "ami_endpoint")

search_pages = Blueprint("search", __name__)


def page_number(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= LAST_PAGE:
        raise InvalidInput({"page": [f"A page number from 1 to {LAST_PAGE}."]})
    return int(raw)


def search(query: str, page: int) -> dict:
    """One page of merged results: {query, page, has_more, results, unavailable}."""
    calls = {"accounts": ("accounts", "search_accounts",
                          {"query": query, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE})}
    if page == 1:  # the meters a serial names are shown once, on the first page
        calls["meters"] = ("metering", "find_meters", {"query": query})
    outcomes = rpc().call_all(calls)
    for outcome in outcomes.values():
        if isinstance(outcome.error, InvalidInput):  # the query itself is refused: 400 naming `q`, as sent
            fields = outcome.error.field_errors if isinstance(outcome.error.field_errors, dict) else {}
            raise InvalidInput({("q" if name == "query" else name): messages for name, messages in fields.items()})
    unavailable = [name for name, outcome in outcomes.items() if not outcome.ok]
    accounts = outcomes["accounts"].value if outcomes["accounts"].ok else {"results": [], "has_more": False}
    meters = outcomes["meters"].value["meters"] if "meters" in outcomes and outcomes["meters"].ok else []
    results = merged(meters, accounts["results"])
    return {"query": query, "page": page, "has_more": accounts["has_more"],
            "results": with_customer_names(results), "unavailable": unavailable}


def merged(meters: list[dict], accounts: list[dict]) -> list[dict]:
    """Meter matches first (with the account they serve, when installed), then accounts; one row an account."""
    rows, seen = [], set()
    for meter in meters:
        rows.append({"account_id": meter["account_id"], "status": meter["account_status"], "customer_name": None,
                     "apn": meter["apn"], "service_address": meter["service_address"], "matched": meter["matched"],
                     "meter_serial": meter["serial"]})
        seen.add(meter["account_id"])
    by_id = {account["account_id"]: account for account in accounts}
    for row in rows:  # a meter's account also found by accounts: take its name from there
        if row["account_id"] in by_id:
            row["customer_name"] = by_id[row["account_id"]]["customer_name"]
    for account in accounts:
        if account["account_id"] not in seen:
            rows.append({"account_id": account["account_id"], "status": account["status"],
                         "customer_name": account["customer_name"], "apn": account["apn"],
                         "service_address": pages.address_lines(account["service_address"]),
                         "matched": account["matched"], "meter_serial": None})
    return rows


def with_customer_names(rows: list[dict]) -> list[dict]:
    """A meter's account not also found by accounts: its customer's name, asked of accounts (rarely needed)."""
    unnamed = {row["account_id"] for row in rows if row["account_id"] and not row["customer_name"]}
    if not unnamed:
        return rows
    outcomes = rpc().call_all({account_id: ("accounts", "get_account", account_id) for account_id in unnamed})
    names = {account_id: o.value["customer"]["name"] for account_id, o in outcomes.items() if o.ok}
    return [{**row, "customer_name": row["customer_name"] or names.get(row["account_id"])} for row in rows]


def query_of() -> str:
    return " ".join((request.args.get("q") or "").split())[:200]


@search_pages.get("/search")
def search_page():
    query, page = query_of(), page_number(request.args.get("page"))
    if len(query) < SHORTEST_QUERY:
        return html(pages.render_search(query, None))
    return html(pages.render_search(query, search(query, page)))


@search_pages.get("/api/search")
def search_api():
    query = query_of()
    if len(query) < SHORTEST_QUERY:
        raise InvalidInput({"q": [f"At least {SHORTEST_QUERY} characters."]})
    return json_response(search(query, page_number(request.args.get("page"))))


@search_pages.get("/search/as-you-type.js")
def as_you_type_script():
    """Results as you type (the only script: CSP allows scripts from this origin, never inline)."""
    script = resources.files("cis_gateway").joinpath("scripts/as_you_type.js").read_text()
    return Response(script, mimetype="text/javascript")
