"""Billing determinants: compound meters (high + low registers summed) and register multipliers,
in v1 (get_consumption) and v2 (get_determinants)."""
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for

JANUARY = {"period_start": "2026-01-01", "period_end": "2026-01-31"}


def start(running_services, rpc):
    running_services("metering")
    rpc.metering.set_business_date("2026-02-02")


def meter_on_account(rpc, serial, account_id, connection_id, **details):
    rpc.metering.register_meter({"serial": serial, "size": "2"})
    if details:
        rpc.metering.update_meter({"serial": serial, **details})
    rpc.metering.install_meter({"serial": serial, "connection_id": connection_id, "installed_on": "2025-12-01",
                                "initial_read": "0"})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values (:a, :c, 'open', '2025-12-01')"),
                   {"a": account_id, "c": connection_id})


def manual(rpc, serial, register, read_at, value):
    rpc.metering.enter_manual_read({"meter_serial": serial, "register": register, "read_at": read_at,
                                    "value": value, "reader": "rvaldez", "reason": "route"})


def test_a_compound_meters_consumption_is_its_high_and_low_registers_summed(running_services, rpc):
    start(running_services, rpc)
    meter_on_account(rpc, "C-1", "A1", "SC1", meter_type="compound")
    manual(rpc, "C-1", "high", "2026-01-01T00:00:00-08:00", "100")
    manual(rpc, "C-1", "low", "2026-01-01T00:00:00-08:00", "50.25")
    manual(rpc, "C-1", "high", "2026-01-31T12:00:00-08:00", "110")
    manual(rpc, "C-1", "low", "2026-01-31T12:00:00-08:00", "53.75")

    [v1] = rpc.metering.get_consumption({**JANUARY, "account_ids": ["A1"]})["determinants"]
    [v2] = rpc.metering.get_determinants({**JANUARY, "account_ids": ["A1"]})["determinants"]

    assert (v1["start_read"], v1["end_read"], v1["consumption"]) == ("150.25", "163.75", "13.50")
    assert {key: v2[key] for key in v1} == v1
    assert v2["quality"] == "actual"
    assert [(read["value"], read["source"]) for read in v2["source_reads"]] == [
        ("100", "manual"), ("110", "manual"), ("50.25", "manual"), ("53.75", "manual")]  # high, then low

    # v3 without estimation answers as v2, naming each source read's register.
    [v3] = rpc.metering.billing_determinants({**JANUARY, "account_ids": ["A1"]})["determinants"]
    assert {key: v3[key] for key in v2 if key != "source_reads"} == {
        key: v2[key] for key in v2 if key != "source_reads"}
    assert [read["register"] for read in v3["source_reads"]] == ["high", "high", "low", "low"]
    assert (v3["estimates"], v3["true_ups"]) == ([], [])


def test_a_compound_meter_lacking_one_registers_end_read_is_missing_naming_the_register(running_services, rpc):
    start(running_services, rpc)
    meter_on_account(rpc, "C-1", "A1", "SC1", meter_type="compound")
    manual(rpc, "C-1", "high", "2026-01-01T00:00:00-08:00", "100")
    manual(rpc, "C-1", "low", "2026-01-01T00:00:00-08:00", "50")
    manual(rpc, "C-1", "high", "2026-01-31T12:00:00-08:00", "110")

    for method in (rpc.metering.get_consumption, rpc.metering.get_determinants):
        result = method({**JANUARY, "account_ids": ["A1"]})
        assert result["determinants"] == []
        assert result["missing"] == [{"account_id": "A1", "reason": "no read in the period on the low register"}]


def test_the_register_multiplier_scales_consumption_and_the_reported_reads(running_services, rpc):
    start(running_services, rpc)
    meter_on_account(rpc, "T-10", "A1", "SC1", meter_type="turbine", multiplier="10")
    meter_on_account(rpc, "D-1", "A2", "SC2")  # multiplier 1: reads as the register shows them
    for serial in ("T-10", "D-1"):
        manual(rpc, serial, "main", "2026-01-01T00:00:00-08:00", "20.5")
        manual(rpc, serial, "main", "2026-01-31T12:00:00-08:00", "22.0")

    v1 = {d["account_id"]: d for d in rpc.metering.get_consumption({**JANUARY, "account_ids": ["A1", "A2"]})[
        "determinants"]}
    v2 = {d["account_id"]: d for d in rpc.metering.get_determinants({**JANUARY, "account_ids": ["A1", "A2"]})[
        "determinants"]}

    # 1.5 HCF on the dial x 10 = 15 HCF delivered.
    assert (v1["A1"]["start_read"], v1["A1"]["end_read"], v1["A1"]["consumption"]) == ("205.0", "220.0", "15.0")
    assert (v1["A2"]["start_read"], v1["A2"]["end_read"], v1["A2"]["consumption"]) == ("20.5", "22.0", "1.5")
    assert v2["A1"]["consumption"] == "15.0"
    # The source reads stay as the register showed them.
    assert [read["value"] for read in v2["A1"]["source_reads"]] == ["20.5", "22.0"]
