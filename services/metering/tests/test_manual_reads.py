"""Readings entered by staff, with reader and reason, through the same VEE and read model."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput, NotFound


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc):
    running_services("metering")
    rpc.metering.set_business_date("2026-02-01")
    rpc.metering.register_meter({"serial": "M-1", "size": "5/8"})
    rpc.metering.install_meter({"serial": "M-1", "connection_id": "SC1", "installed_on": "2026-01-01",
                                "initial_read": "100"})


def enter(rpc, value, read_at="2026-01-31T10:00:00-08:00", **extra):
    return rpc.metering.enter_manual_read({"meter_serial": "M-1", "read_at": read_at, "value": value,
                                           "reader": "rvaldez", "reason": "AMI endpoint silent", **extra})


def test_a_handheld_read_is_stored_validated_with_reader_and_reason(running_services, rpc):
    start(running_services, rpc)
    result = enter(rpc, "112.5", source="handheld")
    assert (result["validated_value"], result["quality"], result["findings"]) == ("112.5", "actual", [])
    assert rows("select value, validated_value, source from register_reads where source = 'handheld'") == [
        (Decimal("112.5"), Decimal("112.5"), "handheld")]
    assert rows("select reader, reason, entered_on::text from manual_reads") == [
        ("rvaldez", "AMI endpoint silent", "2026-02-01")]


def test_a_manual_read_below_the_previous_one_is_held_as_possible_backflow(running_services, rpc):
    start(running_services, rpc)
    result = enter(rpc, "90")
    assert (result["validated_value"], result["quality"]) == (None, "suspect")
    assert [f["rule"] for f in result["findings"]] == ["reverse_flow"]
    assert rows("select rule, status from read_exceptions") == [("reverse_flow", "open")]


def test_a_second_read_at_the_same_instant_is_refused(running_services, rpc):
    start(running_services, rpc)
    enter(rpc, "112.5")
    with pytest.raises(Conflict):
        enter(rpc, "113")
    assert rows("select count(*) from manual_reads") == [(1,)]


def test_a_read_for_an_unknown_meter_or_without_a_reader_is_refused(running_services, rpc):
    start(running_services, rpc)
    with pytest.raises(NotFound):
        rpc.metering.enter_manual_read({"meter_serial": "NOPE", "read_at": "2026-01-31T10:00:00-08:00",
                                        "value": "1", "reader": "rvaldez", "reason": "route"})
    with pytest.raises(InvalidInput) as refused:
        rpc.metering.enter_manual_read({"meter_serial": "M-1", "read_at": "2026-01-31T10:00:00-08:00",
                                        "value": "1", "reason": "route"})
    assert "reader" in str(refused.value)
