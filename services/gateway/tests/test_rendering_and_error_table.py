"""The account page with every section filled (the shapes the services answer), and the error table."""
import json
from html.parser import HTMLParser

import psycopg2
import sqlalchemy as sa
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from cis_contracts.registry import EXAMPLES_DIR
from cis_gateway.errors import MalformedJson, error_body
from cis_gateway.rpc_client import Outcome
from cis_gateway.pages import RECENT_READS_SHOWN, Section, render_account
from cis_runtime.edge.dependencies import RpcTimeout
from cis_runtime.errors import Conflict, InvalidInput, NotFound

# Page section -> the contract of the RPC response it shows.
PAGE_SECTIONS = {"account": "accounts.account.v1", "reads": "metering.account_reads.v3",
                 "statement": "billing.account_statement.v2", "collections": "collections.account_status.v1",
                 "notices": "notifications.deliveries.v2",
                 "bill_delivery": "accounts.bill_delivery.v1"}
ADDRESS = {"line1": "12 Orchard Ln", "line2": None, "city": "Ojai", "state": "CA", "zip": "93023"}
ACCOUNT = {
    "account_id": "A-1", "status": "open", "customer_class": "residential", "bill_cycle": "1",
    "opened_on": "2026-01-01",
    "customer": {"customer_id": "C-1", "name": "Ana Reyes", "email": "ana@example.org", "phone": None,
                 "mailing_address": ADDRESS, "preferred_language": "es"},
    "connection": {"connection_id": "SC-1", "apn": "011-222-333", "service_type": "water",
                   "authorized_meter_size": "5/8", "dwelling_units": 1, "status": "authorized"},
    "parcel": {"apn": "011-222-333", "situs_address": ADDRESS, "owner_of_record": "Ana Reyes",
               "owner_mailing_address": None},
}
READS = {"account_id": "A-1",
         "meters": [{"serial": "M-9", "size": "5/8", "connection_id": "SC-1", "installed_on": "2026-01-02"}],
         "reads": [{"meter_serial": "M-9", "read_at": f"2026-01-{day:02d}T08:00:00-08:00", "value": f"{day}.00",
                    "unit": "HCF", "source": "ami", "validated_value": f"{day}.00", "quality": "actual"}
                   for day in range(1, 31)]}
STATEMENT = {
    "account_id": "A-1", "balance": "47.32",
    "bills": [{"bill_id": "B-1", "period_start": "2026-01-01", "period_end": "2026-01-31",
               "issued_on": "2026-02-01", "due_on": "2026-02-22", "total": "61.20",
               "lines": [{"line_no": 1, "description": "Service charge 5/8\"", "quantity": "0.516129", "unit": "month",
                          "rate": "25.00", "amount": "12.90", "rule": "fixed_by_meter_size", "tariff": "W@1",
                          "charge": "charges[0]", "tier_from": None, "tier_to": None, "days": 16,
                          "proration": "16/31 days"},
                         {"line_no": 2, "description": "Tier 1", "quantity": "3.870967741935483870967741935",
                          "unit": "HCF", "rate": "4.525", "amount": "17.52", "rule": "tiered", "tariff": "W@1",
                          "charge": "charges[1]", "tier_from": "0", "tier_to": "3.870967741935483870967741935",
                          "days": 15, "proration": None},
                         {"line_no": 3, "description": "Tier 2", "quantity": "4", "unit": "HCF",
                          "rate": "7.695", "amount": "30.78", "rule": "tiered", "tariff": "W@1",
                          "charge": "charges[1]", "tier_from": "3.870967741935483870967741935", "tier_to": None,
                          "days": 15, "proration": None}]}],
    "payments": [{"payment_id": "P-1", "amount": "20.00", "method": "check", "reference": "1001",
                  "received_on": "2026-02-10"}],
    "adjustments": [{"adjustment_id": "J-1", "kind": "late_penalty", "amount": "6.12", "posted_on": "2026-02-23",
                     "reference": "LP-B-1-basic", "bill_id": "B-1", "reason": "Gov. Code 61115; rates of W@1",
                     "note": None, "posted_by": "collections",
                     "lines": [{"description": "Late payment penalty, 10% of current charges (61.20)",
                                "amount": "6.12", "rule": "late_penalty"}]}],
}
COLLECTIONS = {"account_id": "A-1", "status": "delinquent", "past_due_amount": "47.32",
               "delinquent_since": "2026-02-23", "notices_requested": [{"kind": "past_due", "requested_on": "2026-02-24"}]}
NOTICES = {"account_id": "A-1", "deliveries": [
    {"delivery_id": "D-1", "kind": "bill_notice", "channel": "mail", "recipient": "Ana Reyes, 12 Orchard Ln, Ojai, CA 93023",
     "subject": "Your bill", "status": "sent", "business_date": "2026-02-01", "reference": "B-1",
     "sent_at": "2026-12-02T05:40:00+00:00"},
    {"delivery_id": "D-2", "kind": "past_due_notice", "channel": "email", "recipient": "ana@example.org",
     "subject": "Past due", "status": "sent", "business_date": "2026-02-24", "reference": None,
     "sent_at": "2026-12-02T05:41:00+00:00"},
    {"delivery_id": "D-3", "kind": "forty_eight_hour_notice", "channel": "posted", "recipient": None,
     "subject": "48-hour notice", "status": "sent", "business_date": "2026-03-20", "reference": "N-4",
     "sent_at": "2026-12-02T05:42:00+00:00"},
    {"delivery_id": "D-4", "kind": "past_due_notice", "channel": "email", "recipient": None,
     "subject": "Past due", "status": "no_address", "business_date": "2026-02-24", "reference": None,
     "sent_at": "2026-12-02T05:41:00+00:00"}]}
BILL_DELIVERY = {"account_id": "A-1", "paperless": False, "email": "ana@example.org", "changed_on": None,
                 "changed_by": None}


class Elements(HTMLParser):
    """Collects (tag, attributes) of every element, and the text inside elements that have an id."""

    def __init__(self, html):
        super().__init__()
        self.elements, self.text_by_id, self._open_ids = [], {}, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        self._open_ids.append(attrs.get("id"))
        if attrs.get("id"):
            self.text_by_id[attrs["id"]] = ""

    def handle_endtag(self, tag):
        if self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data):
        for element_id in filter(None, self._open_ids):
            self.text_by_id[element_id] += data

    def with_attr(self, name):
        return [attrs for _, attrs in self.elements if name in attrs]


def full_page(**overrides):
    sections = {"account": Section(ACCOUNT), "bill_delivery": Section(BILL_DELIVERY), "reads": Section(READS),
                "statement": Section(STATEMENT), "business_date": Section("2026-03-01"),
                "collections": Section(COLLECTIONS), "collections_date": Section("2026-03-01"),
                "notices": Section(NOTICES)}
    sections.update(overrides)
    return Elements(render_account("A-1", sections))


def test_account_page_shows_every_section_with_the_ids_browser_tests_use():
    page = full_page()

    assert page.text_by_id["customer-name"] == "Ana Reyes"
    assert page.text_by_id["apn"] == "011-222-333"
    assert page.text_by_id["balance"] == "47.32"
    assert page.text_by_id["collections-status"] == "delinquent"
    assert page.text_by_id["business-date"] == "2026-03-01"
    assert [a["data-bill-id"] for a in page.with_attr("data-bill-id")] == ["B-1"]
    assert [a["data-line-no"] for a in page.with_attr("data-line-no")] == ["1", "2", "3"]
    assert [a["data-adjustment-id"] for a in page.with_attr("data-adjustment-id")] == ["J-1"]
    assert [a["data-payment-id"] for a in page.with_attr("data-payment-id")] == ["P-1"]
    assert [a["data-kind"] for a in page.with_attr("data-kind")] == [
        "bill_notice", "past_due_notice", "forty_eight_hour_notice", "past_due_notice"]
    assert "past due" in page.text_by_id["notices-requested"]
    for table in ("bills", "payments", "adjustments", "reads", "notices", "meters"):
        assert table in page.text_by_id


def test_account_page_shows_why_each_line_is_that_amount():
    bills = full_page().text_by_id["bills"]

    assert "0.516129" in bills and "16/31 days" in bills          # a prorated service charge
    assert "0 to 3.870968" in bills and "3.870968 to no limit" in bills  # tier bounds, to 6 places
    assert "3.870967741935" not in bills
    assert "W@1 charges[1]" in bills                                # the tariff version and its charge


def test_account_page_shows_the_most_recent_reads_newest_first():
    reads = [a for a in full_page().with_attr("data-source")]
    assert len(reads) == RECENT_READS_SHOWN
    page_text = full_page().text_by_id["reads"]
    assert page_text.index("2026-01-30") < page_text.index("2026-01-29")
    assert "2026-01-30 08:00 PST" in page_text  # the meter's instant in District time, labelled so
    assert "2026-01-01 " not in page_text


def test_a_service_that_does_not_know_the_account_yet_is_not_called_down():
    page = full_page(statement=Section.from_outcome(Outcome(error=NotFound("account", "A-1"))),
                     notices=Section.from_outcome(Outcome(error=RpcTimeout("late"))))

    states = {a["id"]: a["data-state"] for a in page.with_attr("data-state") if "id" in a}
    assert states["billing-section"] == "unknown"
    assert states["notices-section"] == "unavailable"
    assert states["account-section"] == "ok"
    assert "unavailable" in page.text_by_id["balance"]


def test_error_table_maps_each_failure_to_its_status_and_code():
    cases = [(MalformedJson("bad"), 400, "malformed_json"), (InvalidInput({"apn": ["bad"]}), 400, "invalid_input"),
             (NotFound("account", "A-9"), 404, "not_found"), (Conflict("taken"), 409, "conflict"),
             (UnknownService("billing"), 503, "service_unavailable"), (RpcTimeout("slow"), 504, "service_timeout"),
             (MethodNotFound("get_bill_delivery"), 501, "not_implemented"),
             (RemoteError("OperationalError", "FATAL: sorry, too many clients already"), 503, "service_unavailable"),
             (sa.exc.OperationalError("select 1", {}, psycopg2.OperationalError("server closed the connection")),
              503, "service_unavailable"),
             (RemoteError("KeyError", "'secret' at line 3"), 500, "internal_error"), (ValueError("x"), 500, "internal_error")]
    for exc, status, code in cases:
        answered_status, body = error_body(exc, "cid-1")
        assert (answered_status, body["error"]) == (status, code), exc
        assert body["message"]
    assert error_body(InvalidInput({"apn": ["bad"]}))[1]["fields"] == {"apn": ["bad"]}
    internal = error_body(RemoteError("KeyError", "'secret' at line 3"), "cid-1")[1]
    assert "secret" not in internal["message"] and internal["correlation_id"] == "cid-1"


def contract_examples(name):
    path = EXAMPLES_DIR / f"{name}.json"
    loaded = json.loads(path.read_text()) if path.exists() else []
    return loaded if isinstance(loaded, list) else [loaded]


def test_account_page_renders_every_contract_example_the_services_answer_with():
    examples = {section: contract_examples(name) for section, name in PAGE_SECTIONS.items()}
    for section, found in examples.items():
        for example in found:
            page = full_page(**{section: Section(example)})
            states = {a["id"]: a["data-state"] for a in page.with_attr("data-state") if "id" in a}
            assert set(states.values()) == {"ok"}, (section, example)
    for statement in examples["statement"]:
        page = full_page(statement=Section(statement))
        assert page.text_by_id["balance"] == statement["balance"]
        assert [a["data-bill-id"] for a in page.with_attr("data-bill-id")] == [b["bill_id"] for b in statement["bills"]]
    for status in examples["collections"]:
        assert full_page(collections=Section(status)).text_by_id["collections-status"] == status["status"]
    for choice in examples["bill_delivery"]:
        assert "paperless, emailed to " + choice["email"] in full_page(bill_delivery=Section(choice)).text_by_id[
            "bill-delivery"]
    for deliveries in examples["notices"]:
        kinds = [a["data-kind"] for a in full_page(notices=Section(deliveries)).with_attr("data-kind")]
        assert kinds == [d["kind"] for d in deliveries["deliveries"]]


def notice_rows(page_html: str) -> dict[str, dict[str, str]]:
    """delivery id -> {cell class: text} of the 'Bills and notices sent' table."""
    rows, current = {}, None

    class Cells(HTMLParser):
        def handle_starttag(self, tag, attrs):
            nonlocal current
            attrs = dict(attrs)
            if tag == "tr" and "data-delivery-id" in attrs:
                rows[attrs["data-delivery-id"]] = {}
                current = rows[attrs["data-delivery-id"]]
            elif tag == "td" and current is not None:
                self.cell = attrs.get("class", "")
                current[self.cell] = ""

        def handle_endtag(self, tag):
            nonlocal current
            if tag == "tr":
                current = None

        def handle_data(self, data):
            if current is not None and getattr(self, "cell", None) in current:
                current[self.cell] += data

    Cells().feed(page_html)
    return {row_id: {cell: " ".join(text.split()) for cell, text in cells.items()} for row_id, cells in rows.items()}


def account_html(**overrides):
    sections = {"account": Section(ACCOUNT), "bill_delivery": Section(BILL_DELIVERY), "reads": Section(READS),
                "statement": Section(STATEMENT), "business_date": Section("2026-03-01"),
                "collections": Section(COLLECTIONS), "collections_date": Section("2026-03-01"),
                "notices": Section(NOTICES)}
    return render_account("A-1", {**sections, **overrides})


def test_notices_sent_show_their_business_date_channel_and_addressee_never_none():
    rows = notice_rows(account_html())

    assert rows["D-1"]["notice-date"] == "2026-02-01"            # the business date, not the wall clock
    assert rows["D-1"]["notice-channel"] == "mailed"
    assert rows["D-1"]["notice-to"] == "Ana Reyes, 12 Orchard Ln, Ojai, CA 93023"
    assert rows["D-2"]["notice-to"] == "ana@example.org" and rows["D-2"]["notice-channel"] == "emailed"
    assert rows["D-3"]["notice-to"] == "posted at the premises"
    assert rows["D-4"]["notice-to"] == "no email address on file"
    assert "not sent" in rows["D-4"]["notice-status"]
    assert "None" not in account_html()


def test_the_balance_and_past_due_say_whose_figure_they_are_and_as_of_when():
    page = full_page(collections_date=Section("2026-02-28"))

    assert "all charges less payments and credits" in page.text_by_id["balance-meaning"]
    assert page.text_by_id["balance-as-of"] == "2026-03-01"
    assert "unpaid after its due date" in page.text_by_id["past-due-meaning"]
    assert page.text_by_id["past-due-as-of"] == "2026-02-28"
    assert page.text_by_id["page-business-date"] == "2026-03-01"
    assert "balance-difference" not in page.text_by_id  # 47.32 and 47.32: nothing to explain


def test_a_balance_larger_than_the_past_due_says_how_much_is_not_yet_due():
    second_bill = {**STATEMENT["bills"][0], "bill_id": "B-2", "issued_on": "2026-03-01", "due_on": "2026-03-22",
                   "total": "30.00"}
    statement = {**STATEMENT, "balance": "77.32", "bills": [*STATEMENT["bills"], second_bill]}

    page = full_page(statement=Section(statement))

    line = page.text_by_id["balance-difference"]
    assert "$47.32" in line  # collections' figure, named
    assert "includes $30.00 not yet due (B-2 due 2026-03-22)" in line


def test_a_difference_due_dates_do_not_explain_says_collections_may_be_behind():
    # billing has posted a payment of 47.32 that collections has not applied yet
    statement = {**STATEMENT, "balance": "0.00",
                 "payments": [*STATEMENT["payments"], {"payment_id": "P-2", "amount": "47.32", "method": "cash",
                                                       "reference": None, "received_on": "2026-02-28"}]}

    line = full_page(statement=Section(statement)).text_by_id["balance-difference"]

    assert "$47.32 is not explained by due dates" in line and "collections may not yet have applied" in line


def test_a_credit_balance_says_it_is_a_credit():
    statement = {**STATEMENT, "balance": "-10.00", "adjustments": [*STATEMENT["adjustments"], {
        **STATEMENT["adjustments"][0], "adjustment_id": "J-2", "kind": "credit", "amount": "-57.32",
        "posted_on": "2026-02-25"}]}
    collections = {**COLLECTIONS, "status": "current", "past_due_amount": "0.00"}

    page = full_page(statement=Section(statement), collections=Section(collections))

    assert page.text_by_id["balance-difference"].endswith("The balance is a credit of $10.00 (paid ahead).")


def test_an_answer_with_fields_left_out_renders_empty_cells_not_a_500_and_never_none():
    html = account_html(statement=Section({"account_id": "A-1"}), collections=Section({}),
                        notices=Section({"deliveries": [{}]}), bill_delivery=Section({}))

    assert 'id="billing-section" data-state="ok"' in html and "None" not in html
    assert 'id="balance-difference"' not in html
