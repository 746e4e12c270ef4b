"""Tariffs through billing's entrypoints and CLI, bill previews, and bill runs on the engine."""
import copy
import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from cis_billing import tariffs as tariff_cli
from cis_contracts.registry import get as contract
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound
from test_billing_service import PERIOD, metering, open_accounts, outbox, query, run_to_completion  # noqa: F401

TARIFFS = Path(__file__).resolve().parent.parent / "tariffs"
DEMO = importlib.import_module("cis_billing.migrations.versions.0002_tariff_engine").DEMO_RESIDENTIAL_TARIFF
MULTIFAMILY = tariff_cli.read_document(TARIFFS / "multifamily-tiered.v1.yaml")


@pytest.fixture(autouse=True)
def only_the_adopted_demo_tariff():
    """The tariffs table is reference data the fixtures keep: put it back as the migrations left it."""
    def restore():
        with engine_for("billing").begin() as db:
            db.execute(sa.text("delete from tariffs where not (tariff_id = 'residential' and version = 1)"))
    yield
    restore()


def residential_v2(**changes):
    document = copy.deepcopy(DEMO)
    document.update(version=2, effective_from="2026-07-01", adopted_by="Board Resolution 2026-11", **changes)
    return document


def test_a_loaded_tariff_version_is_kept_with_its_history(running_services, rpc):
    running_services("billing")
    stored = rpc.billing.load_tariff({"document": residential_v2()})
    assert (stored["tariff_id"], stored["version"], stored["effective_from"]) == ("residential", 2, "2026-07-01")
    history = rpc.billing.tariff_history()["tariffs"]
    assert [(t["tariff_id"], t["version"]) for t in history] == [("residential", 1), ("residential", 2)]
    # the identical document again changes nothing; different content under the same version is refused
    assert rpc.billing.load_tariff({"document": residential_v2()}) == stored
    with pytest.raises(Conflict, match="residential@2 is already loaded"):
        rpc.billing.load_tariff({"document": residential_v2(name="changed")})
    assert query("select count(*) from tariffs")[0][0] == 2


def test_an_inconsistent_tariff_is_refused_naming_each_bad_field_and_nothing_is_stored(running_services, rpc):
    running_services("billing")
    bad = residential_v2(charges=[copy.deepcopy(DEMO["charges"][0]), {"rule": "tiered", "tiers": [
        {"upto": "10", "rate": "3.10"}, {"upto": "6", "rate": "4.20"}, {"rate": "6.85"}]}])
    del bad["charges"][0]["rates"]["2"]
    with pytest.raises(InvalidInput) as error:
        rpc.billing.load_tariff({"document": bad})
    fields = error.value.args[0]
    assert fields["document.charges[1].tiers[1].upto"] == ["overlaps tier 0"]
    assert fields["document.charges[0].rates"] == ['no charge for meter size 2" (the tariff serves it)']
    with pytest.raises(InvalidInput) as error:
        rpc.billing.load_tariff({"document": {**residential_v2(), "tariff_id": "other"}})
    assert "overlapping residential in effect from 2025-07-01" in error.value.args[0]["document.effective_from"][0]
    assert query("select count(*) from tariffs")[0][0] == 1


def test_the_cli_loads_a_yaml_tariff_file_and_reports_bad_ones_by_path(service_db, tmp_path, capsys):
    service_db("billing")
    assert tariff_cli.main(["load", str(TARIFFS / "multifamily-tiered.v1.yaml")]) == 0
    assert "loaded multifamily@1 effective 2026-07-01" in capsys.readouterr().out
    assert tariff_cli.main(["load", str(TARIFFS / "residential-demo.v1.yaml")]) == 0  # as adopted: no change
    broken = yaml.safe_load((TARIFFS / "multifamily-tiered.v1.yaml").read_text())
    broken.update(version=2)
    broken["charges"][1]["tiers"][0]["from"] = "1"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert tariff_cli.main(["load", str(path)]) == 1
    assert "document.charges[1].tiers[0].from: leaves a gap: the first tier must start at 0" in capsys.readouterr().err
    assert query("select tariff_id || '@' || version from tariffs order by 1") == [
        ("multifamily@1",), ("residential@1",)]


def test_every_tariff_file_in_the_repository_is_a_valid_document():
    for path in sorted(TARIFFS.glob("*.yaml")):
        assert tariff_cli.main(["check", str(path)]) == 0, path


def test_the_demo_tariff_file_is_the_document_the_migration_adopts():
    assert tariff_cli.read_document(TARIFFS / "residential-demo.v1.yaml") == DEMO


def test_a_bill_preview_says_what_an_account_would_pay_for_n_hcf(running_services, rpc, publish):
    running_services("billing")
    rpc.billing.set_business_date("2026-04-10")
    open_accounts(publish, "A0000001")
    preview = rpc.billing.preview_bill({"account_id": "A0000001", "consumption": "12"})
    assert (preview["total"], preview["period_start"], preview["period_end"]) == ("64.55", "2026-04-01", "2026-04-30")
    assert [(l["charge"], l["quantity"], l["rate"], l["amount"]) for l in preview["lines"]] == [
        ("charges[0]", "1", "20.75", "20.75"), ("charges[1]", "12", "3.65", "43.80")]
    contract("billing.bill_preview.v1").schema().load(preview)
    assert query("select count(*) from bills")[0][0] == 0 and outbox("billing.bill_issued.v1") == []


def test_a_bill_preview_by_class_shows_tiers_days_and_proration(running_services, rpc):
    running_services("billing")
    rpc.billing.load_tariff({"document": MULTIFAMILY})
    preview = rpc.billing.preview_bill({"customer_class": "multi_family", "meter_size": "5/8", "dwelling_units": 2,
                                        "consumption": "12.7", "period_start": "2026-07-01",
                                        "period_end": "2026-07-31", "winter_average": "6"})
    assert [(l["description"], l["quantity"], l["amount"], l["tier_from"], l["tier_to"]) for l in preview["lines"]][
        1:3] == [("Water usage, tier 1 (0 to 8 HCF)", "8", "29.20", "0", "8"),
                 ("Water usage, tier 2 (over 8 HCF)", "4", "24.68", "8", None)]  # 12.7 HCF truncated to 12


def test_bill_previews_are_validated(running_services, rpc):
    running_services("billing")
    with pytest.raises(InvalidInput) as error:
        rpc.billing.preview_bill({"consumption": "12"})
    assert "account_id" in error.value.args[0]
    with pytest.raises(InvalidInput) as error:
        rpc.billing.preview_bill({"customer_class": "residential", "meter_size": "5/8", "consumption": "-1"})
    assert "consumption" in error.value.args[0]
    with pytest.raises(NotFound):
        rpc.billing.preview_bill({"account_id": "A9999999", "consumption": "1"})
    with pytest.raises(Conflict, match="customer class irrigation"):
        rpc.billing.preview_bill({"customer_class": "irrigation", "meter_size": "1", "consumption": "1"})


def test_a_bill_run_bills_multifamily_tiers_by_the_dwelling_units_from_account_opened(
        running_services, rpc, publish, metering):  # noqa: F811
    running_services("billing")
    rpc.billing.load_tariff({"document": MULTIFAMILY})
    open_accounts(publish, "A0000001", customer_class="multi_family", dwelling_units=2)
    metering({"A0000001": "12"})

    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", "period_start": "2026-07-01",
                                                             "period_end": "2026-07-31"}))

    # the winter-average sewer charge needs a winter average billing does not have: an exception, not a bill
    assert run["exceptions"] == [{"account_id": "A0000001", "reason": "no winter average for the sewer charge"}]
    with engine_for("billing").begin() as db:
        db.execute(sa.text("""update accounts set attributes = '{"winter_average": "6"}'"""))
    run = run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", "period_start": "2026-07-01",
                                                             "period_end": "2026-07-30"}))
    assert run["bills_issued"] == 1
    lines = query("select rule, quantity, amount, tier_from, tier_to, days, proration, charge from bill_lines "
                  "order by line_no")
    assert [(r[0], str(r[2])) for r in lines] == [
        ("fixed_by_meter_ratio", "20.08"), ("tiered", "29.20"), ("tiered", "24.68"), ("fixed_surcharge", "3.97"),
        ("sewer", "24.68")]
    assert lines[0][5:7] == (30, "30/31 days")
    assert rpc.billing.account_statement("A0000001")["bills"][0]["total"] == "102.61"
