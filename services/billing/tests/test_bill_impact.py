"""The Prop 218 bill-impact report (Cal. Const. art. XIII D sec. 6): the last billed period of every
account priced on the current rates and on a proposed tariff that is never stored."""
from decimal import Decimal

import pytest

from cis_billing.domain.bill_impact import PricedAccount, summarise
from cis_runtime.errors import InvalidInput
from cis_runtime.testing import wait_for
from test_billing_service import (PERIOD, metering, open_accounts, query,  # noqa: F401 (fixture)
                                  run_to_completion, start_billing)

D = Decimal
PROPOSED = {
    "tariff_id": "residential", "version": 2, "effective_from": "2027-07-01",
    "adopted_by": "Proposed, hearing 2027-05-20", "name": "Residential water service (proposed)",
    "customer_classes": ["residential"], "meter_sizes": ["5/8", "1"], "billing_unit": "HCF",
    "charges": [{"rule": "fixed_by_meter_size", "per": "month", "rates": {"5/8": "22.40", "1": "56.00"}},
                {"rule": "volumetric", "rate": "3.95"}],
}


def test_prop_218_summary_per_class_and_meter_size_counts_totals_average_and_largest_change():
    priced = [PricedAccount("A1", "residential", "1", D("95.68"), D("103.40")),
              PricedAccount("A2", "residential", "5/8", D("64.55"), D("69.80")),
              PricedAccount("A3", "residential", "5/8", D("31.70"), D("34.25")),
              PricedAccount("A4", "commercial", "3/4", D("0.00"), D("10.00"))]

    groups = summarise(priced)

    assert [(g["customer_class"], g["meter_size"]) for g in groups] == [
        ("commercial", "3/4"), ("residential", "5/8"), ("residential", "1")]  # sizes in inch order
    five_eighths = groups[1]
    assert (five_eighths["accounts"], five_eighths["current_total"], five_eighths["proposed_total"]) == (
        2, D("96.25"), D("104.05"))
    assert (five_eighths["average_change"], five_eighths["max_change"]) == (D("3.90"), D("5.25"))
    assert five_eighths["total_percent_change"] == D("8.10")  # 7.80 / 96.25
    assert groups[0]["total_percent_change"] is None          # no current revenue to compare with


def test_bill_impact_prices_each_accounts_last_bill_on_the_proposal_and_stores_nothing(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001", "A0000002", "A0000003")
    metering({"A0000001": "12", "A0000002": "3", "A0000003": "5"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    open_accounts(publish, "A0000004")  # opened after the run: nothing billed to compare
    open_accounts(publish, "A0000005", customer_class="commercial")  # not a class the proposal covers
    wait_for(lambda: query("select count(*) from accounts")[0][0] == 5, message="the later accounts in billing")
    metering({"A0000001": "12", "A0000002": "3"}, {"A0000003": "read under review"}, start=False)

    impact = rpc.billing.bill_impact({"document": PROPOSED})

    assert (impact["proposed_tariff"], impact["effective_from"], impact["accounts_priced"]) == (
        "residential@2", "2027-07-01", 2)
    assert impact["groups"] == [{
        "customer_class": "residential", "meter_size": "5/8", "accounts": 2,
        "current_total": "96.25", "proposed_total": "104.05",   # 64.55 + 31.70 -> 69.80 + 34.25
        "average_change": "3.90", "max_change": "5.25", "total_percent_change": "8.10"}]
    assert impact["exceptions"] == [{"account_id": "A0000003", "reason": "read under review"},
                                    {"account_id": "A0000004", "reason": "not billed yet"}]
    assert query("select count(*) from tariffs")[0][0] == 1


def test_a_proposal_that_could_not_be_adopted_is_refused_naming_the_place(running_services, rpc):
    start_billing(running_services)
    for document, field in [({**PROPOSED, "version": 1}, "document.version"),
                            ({**PROPOSED, "meter_sizes": ["5/8", "3/4"]}, "document.charges[0].rates")]:
        with pytest.raises(InvalidInput) as error:
            rpc.billing.bill_impact({"document": document})
        assert field in error.value.args[0], error.value.args[0]
