"""Meter exchanges: the old register closes with its final read, the new one opens with its initial
read, history is kept, and a period spanning the exchange loses no consumption."""

import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict, InvalidInput


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc):
    running_services("metering")
    for serial in ("OLD", "NEW"):
        rpc.metering.register_meter({"serial": serial, "size": "5/8"})
    rpc.metering.install_meter({"serial": "OLD", "connection_id": "SC1", "installed_on": "2025-12-01",
                                "initial_read": "100"})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values ('A1', 'SC1', 'open', '2025-12-01')"))


def manual(rpc, serial, read_at, value):
    rpc.metering.enter_manual_read({"meter_serial": serial, "read_at": read_at, "value": value,
                                    "reader": "rvaldez", "reason": "route"})


def exchange(rpc, **overrides):
    return rpc.metering.exchange_meter({"old_serial": "OLD", "old_final_read": "130", "new_serial": "NEW",
                                        "new_initial_read": "5", "exchanged_on": "2026-01-20",
                                        "exchanged_by": "rvaldez", "reason": "failed accuracy test",
                                        **overrides})


def test_an_exchange_keeps_the_history_and_frees_the_connection_for_the_new_meter(running_services, rpc):
    start(running_services, rpc)
    result = exchange(rpc)
    assert result["connection_id"] == "SC1"
    assert rows("select serial, installed_on::text, removed_on::text, removed_by, removal_reason "
                "from installations order by installation_id") == [
        ("OLD", "2025-12-01", "2026-01-20", "rvaldez", "failed accuracy test"),
        ("NEW", "2026-01-20", None, None, None)]
    assert rows("select serial, status from meters order by serial") == [("NEW", "installed"), ("OLD", "removed")]


def test_consumption_across_an_exchange_is_the_old_meters_use_plus_the_new_ones(running_services, rpc):
    start(running_services, rpc)
    manual(rpc, "OLD", "2026-01-01T00:00:00-08:00", "110")
    exchange(rpc)  # OLD 110 -> 130 (20 HCF), NEW opens at 5
    manual(rpc, "NEW", "2026-01-31T12:00:00-08:00", "17")  # 12 HCF more
    [determinant] = rpc.metering.get_determinants({"period_start": "2026-01-01", "period_end": "2026-01-31",
                                                   "account_ids": ["A1"]})["determinants"]
    assert (determinant["meter_serial"], determinant["consumption"]) == ("NEW", "32")
    assert [(r["validated_value"], r["source"]) for r in determinant["source_reads"]] == [
        ("110", "manual"), ("130", "final"), ("5", "install"), ("17", "manual")]


def test_an_exchange_before_the_old_installation_or_of_a_meter_not_installed_is_refused(running_services, rpc):
    start(running_services, rpc)
    with pytest.raises(InvalidInput):
        exchange(rpc, exchanged_on="2025-11-30")
    with pytest.raises(Conflict):
        exchange(rpc, old_serial="NEW")
    assert rows("select count(*) from installations where removed_on is not null") == [(0,)]


def test_a_new_meter_without_an_initial_read_is_refused_naming_the_field(running_services, rpc):
    start(running_services, rpc)
    with pytest.raises(InvalidInput) as refused:
        exchange(rpc, new_initial_read=None)
    assert "new_initial_read" in str(refused.value)


def test_an_exchange_at_the_period_end_instant_bills_the_old_meter_to_its_final_read_and_the_new_one_after(
        running_services, rpc):
    """The read boundary rule: exchanged on 1 February, the old meter's final read at the 1 February midnight
    ends January and the new meter's initial read starts February; nothing lost, nothing counted twice."""
    start(running_services, rpc)
    manual(rpc, "OLD", "2026-01-01T00:00:00-08:00", "110")
    exchange(rpc, exchanged_on="2026-02-01")  # OLD 110 -> 130 in January, NEW opens at 5
    manual(rpc, "NEW", "2026-03-01T00:00:00-08:00", "17")

    def determinant(first, last):
        [found] = rpc.metering.get_determinants({"period_start": first, "period_end": last,
                                                 "account_ids": ["A1"]})["determinants"]
        return found["meter_serial"], found["consumption"], found["end_read_at"]

    assert determinant("2026-01-01", "2026-01-31") == ("OLD", "20", "2026-02-01T00:00:00-08:00")
    assert determinant("2026-02-01", "2026-02-28") == ("NEW", "12", "2026-03-01T00:00:00-08:00")
