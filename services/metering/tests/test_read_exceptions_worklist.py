"""The read exceptions worklist: staff resolve what VEE held; every resolution is audited; field
work and leak/backflow alerts leave as events for operations."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput
from cis_runtime.testing import drain_queue, wait_for

INTERVAL_READS = "metering.ami_interval_reads.v1"
OPENED = "accounts.account_opened.v1"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start_with_held_reading(running_services, rpc, publish, values=("10.0", "9.0", "10.5")):
    running_services("metering")
    rpc.metering.set_business_date("2026-01-20")
    publish(OPENED, dict(get(OPENED).examples()[0], account_id="A1", connection_id="SC1"), producer_name="accounts")
    wait_for(lambda: rows("select 1 from service_accounts"), message="account known")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": "0"})
    publish(INTERVAL_READS, {"batch_id": "B-1", "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": "2026-01-15T00:00:00-08:00", "interval_seconds": 3600,
        "values": list(values)}]})
    wait_for(lambda: rows("select 1 from ami_batches where batch_id = 'B-1'"), message="batch stored")
    found = rpc.metering.list_read_exceptions({})["exceptions"]
    return found[0] if found else None


def reading_at_one_am():
    return rows("select value, validated_value, quality from register_reads "
                "where read_at = '2026-01-15T01:00:00-08:00'")[0]


def resolve(rpc, exception_id, action, **extra):
    return rpc.metering.resolve_read_exception({"exception_id": exception_id, "action": action,
                                                "resolved_by": "jdoe", "reason": "checked", **extra})


def test_a_held_reading_is_listed_with_its_rule_values_and_why(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    assert (held["rule"], held["value"], held["status"]) == ("reverse_flow", "9.0", "open")
    assert held["details"]["previous"] == "10.0" and "backwards" in held["reason"]
    assert reading_at_one_am() == (Decimal("9.0"), None, "suspect")


def test_an_edit_sets_the_validated_value_keeps_the_raw_one_and_is_audited(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    result = resolve(rpc, held["exception_id"], "edit", new_value="10.2")
    assert (result["status"], result["old_value"], result["new_value"]) == ("edited", "9.0", "10.2")
    assert reading_at_one_am() == (Decimal("9.0"), Decimal("10.2"), "edited")
    assert rows("select action, resolved_by, resolved_on::text, old_value, new_value, old_status, new_status "
                "from read_exception_resolutions") == [
        ("edit", "jdoe", "2026-01-20", Decimal("9.0"), Decimal("10.2"), "open", "edited")]
    assert rpc.metering.list_read_exceptions({})["exceptions"] == []
    with pytest.raises(Conflict):
        resolve(rpc, held["exception_id"], "accept")


def test_an_edit_without_a_new_value_is_refused_naming_the_field(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    with pytest.raises(InvalidInput) as refused:
        resolve(rpc, held["exception_id"], "edit")
    assert "new_value" in str(refused.value)


def test_an_estimate_interpolates_between_the_validated_readings_either_side(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    result = resolve(rpc, held["exception_id"], "estimate")
    assert result["new_value"] == "10.3"  # halfway between 10.0 at midnight and 10.5 at 2 am, 0.1 HCF places
    assert reading_at_one_am() == (Decimal("9.0"), Decimal("10.3"), "estimated")


def test_accepting_makes_the_raw_reading_billable(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    resolve(rpc, held["exception_id"], "accept")
    assert reading_at_one_am() == (Decimal("9.0"), Decimal("9.0"), "actual")


def test_a_meter_check_sends_a_work_order_with_location_and_installation(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    result = resolve(rpc, held["exception_id"], "request_meter_check")
    orders = wait_for(lambda: [o["payload"] for o in drain_queue("operations.work_orders")
                               if o["payload"]["order_id"] == result["work_order_id"]], message="work order")
    order = orders[0]
    assert order["work"] == "check_meter"
    assert (order["meter_serial"], order["connection_id"], order["account_id"]) == ("M-1", "SC1", "A1")
    assert order["installation"] == '5/8" displacement, manually read' and order["service_address"]
    assert [e["status"] for e in rpc.metering.list_read_exceptions({})["exceptions"]] == ["meter_check_requested"]


def test_reverse_flow_publishes_a_backflow_alert_for_operations(running_services, rpc, publish):
    drain_queue("operations.meter_alerts")  # the queue outlives earlier tests of this run
    start_with_held_reading(running_services, rpc, publish)
    alerts = wait_for(lambda: drain_queue("operations.meter_alerts"), message="alert published")
    assert [(a["payload"]["kind"], a["payload"]["account_id"]) for a in alerts] == [("backflow", "A1")]


def test_water_flowing_every_hour_for_a_day_is_noted_as_a_possible_leak(running_services, rpc, publish):
    day = [f"{10 + hour * 0.1:.1f}" for hour in range(25)]
    drain_queue("operations.meter_alerts")
    running_services("metering")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": "0"})
    publish(INTERVAL_READS, {"batch_id": "B-1", "head_end": "beacon", "blocks": [{
        "meter_serial": "M-1", "interval_start": "2026-01-15T00:00:00-08:00", "interval_seconds": 3600,
        "values": day}]})
    alerts = wait_for(lambda: drain_queue("operations.meter_alerts"), message="leak alert")
    assert [a["payload"]["kind"] for a in alerts] == ["leak"]
    # 2.4 HCF that day against 10 HCF in the 14 days since installation: high use too, for staff to look at.
    assert rows("select rule, status from read_exceptions order by exception_id") == [
        ("continuous_flow", "noted"), ("high_use", "open")]
    assert rows("select count(*) from register_reads where quality = 'actual' and source = 'ami'") == [(25,)]


def determinants(rpc):
    return rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-15",
                                          "account_ids": ["A1"]})


def test_an_account_with_an_unresolved_exception_is_held_not_billed_silently(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish)
    result = determinants(rpc)
    assert result["determinants"] == [] and result["missing"] == []
    assert result["held"] == [{"account_id": "A1", "meter_serial": "M-1", "exception_ids": [held["exception_id"]],
                               "reason": "1 unresolved read exception(s) in the period: reverse_flow"}]


def test_once_resolved_the_determinant_says_edited_and_carries_its_source_reads(running_services, rpc, publish):
    held = start_with_held_reading(running_services, rpc, publish, values=("10.0", "9.0"))
    resolve(rpc, held["exception_id"], "edit", new_value="10.2")
    [determinant] = determinants(rpc)["determinants"]
    assert (determinant["consumption"], determinant["quality"]) == ("10.2", "edited")
    assert [(r["value"], r["validated_value"], r["quality"], r["source"]) for r in determinant["source_reads"]] == [
        ("0", "0", "actual", "install"), ("9.0", "10.2", "edited", "ami")]


def test_an_interpolated_end_read_makes_the_determinant_estimated(running_services, rpc, publish):
    start_with_held_reading(running_services, rpc, publish, values=("10.0", None, "11.0"))
    with engine_for("metering").begin() as db:  # the 2 am reading falls outside the period asked for
        db.execute(sa.text("delete from register_reads where read_at = '2026-01-15T02:00:00-08:00'"))
    result = rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-15",
                                            "account_ids": ["A1"]})
    assert [(d["end_read"], d["quality"]) for d in result["determinants"]] == [("10.5", "estimated")]
