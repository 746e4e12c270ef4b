"""Tariffs and bill previews through the gateway, on the real billing service."""
from decimal import Decimal


from gateway_client import post


def test_a_bill_preview_prices_12_hcf_on_a_5_8_meter_with_the_adopted_tariff(gateway):
    base, http = gateway("billing")
    preview = post(http, base, "/api/bill-previews", {"customer_class": "residential", "meter_size": "5/8",
                                                "consumption": "12", "period_start": "2026-04-01",
                                                "period_end": "2026-04-30"})
    assert preview.status_code == 200, preview.text
    assert Decimal(preview.json()["total"]) == Decimal("64.55")
    assert {line["tariff"] for line in preview.json()["lines"]} == {"residential@1"}

    history = http.get(base + "/api/tariffs", timeout=20).json()
    assert any(t["tariff_id"] == "residential" for t in history["tariffs"])


def test_an_inconsistent_tariff_is_refused_naming_the_place(gateway):
    base, http = gateway("billing")
    refused = post(http, base, "/api/tariffs", {"document": {"tariff_id": "residential", "version": 9}})
    assert refused.status_code == 400
    assert any(field.startswith("document") for field in refused.json()["fields"])


def test_a_bill_impact_report_is_asked_with_a_proposed_document_that_is_validated(gateway):
    base, http = gateway("billing")
    proposal = {"tariff_id": "residential", "version": 2, "effective_from": "2027-07-01",
                "adopted_by": "Proposed", "name": "Proposed", "customer_classes": ["residential"],
                "meter_sizes": ["5/8"], "billing_unit": "HCF",
                "charges": [{"rule": "fixed_by_meter_size", "per": "month", "rates": {"5/8": "22.40"}}]}

    report = post(http, base, "/api/tariffs/bill-impact", {"document": proposal})
    assert report.status_code == 200, report.text
    assert (report.json()["proposed_tariff"], report.json()["groups"]) == ("residential@2", [])

    refused = post(http, base, "/api/tariffs/bill-impact", {"document": {**proposal, "version": 1}})
    assert refused.status_code == 400
    assert "document.version" in refused.json()["fields"]
