"""Meter inventory details, accuracy test history, and the monthly acre-feet report of water
delivered to other agencies through bulk (intertie) meters."""
import pytest

from cis_runtime.errors import Conflict, InvalidInput, NotFound


def start(running_services, rpc):
    running_services("metering")
    rpc.metering.register_meter({"serial": "IT-1", "size": "6", "register_digits": 8})
    rpc.metering.install_meter({"serial": "IT-1", "connection_id": "INTERTIE-1", "installed_on": "2025-12-01",
                                "initial_read": "1000"})


def test_a_compound_meter_has_high_and_low_registers_and_keeps_its_test_history(running_services, rpc):
    start(running_services, rpc)
    record = rpc.metering.update_meter({"serial": "IT-1", "meter_type": "compound", "make": "Sensus",
                                        "ami_endpoint_id": "130411962"})
    assert (record["registers"], record["make"], record["ami_endpoint_id"]) == (["high", "low"], "Sensus", "130411962")
    record = rpc.metering.record_meter_test({"serial": "IT-1", "tested_on": "2025-06-03", "tester": "lab",
                                             "low_flow_accuracy": "94.1", "intermediate_flow_accuracy": "99.0",
                                             "high_flow_accuracy": "99.5", "passed": False})
    assert [(t["tested_on"], t["low_flow_accuracy"], t["passed"]) for t in record["tests"]] == [
        ("2025-06-03", "94.1", False)]


def test_an_endpoint_id_belongs_to_one_meter_and_a_multiplier_must_be_positive(running_services, rpc):
    start(running_services, rpc)
    rpc.metering.register_meter({"serial": "M-2", "size": "5/8"})
    rpc.metering.update_meter({"serial": "IT-1", "ami_endpoint_id": "E-1"})
    with pytest.raises(Conflict):
        rpc.metering.update_meter({"serial": "M-2", "ami_endpoint_id": "E-1"})
    with pytest.raises(InvalidInput) as refused:
        rpc.metering.update_meter({"serial": "M-2", "multiplier": "0"})
    assert "multiplier" in str(refused.value)
    with pytest.raises(NotFound):
        rpc.metering.update_meter({"serial": "NOPE", "locked": True})


def test_deliveries_to_an_agency_are_reported_in_acre_feet_with_the_multiplier(running_services, rpc):
    start(running_services, rpc)
    rpc.metering.update_meter({"serial": "IT-1", "meter_type": "turbine", "multiplier": "10",
                               "delivers_to_agency": "County WD"})
    for read_at, value in (("2026-01-01T00:00:00-08:00", "1000"), ("2026-01-31T23:00:00-08:00", "1871.2")):
        rpc.metering.enter_manual_read({"meter_serial": "IT-1", "read_at": read_at, "value": value,
                                        "reader": "ops", "reason": "monthly intertie read"})
    report = rpc.metering.agency_deliveries({"month": "2026-01"})
    # (1871.2 - 1000) x 10 = 8712 HCF = 20 acre-feet (435.6 HCF each)
    assert report["agencies"] == [{"agency": "County WD", "meters": ["IT-1"], "hcf": "8712.0", "acre_feet": "20.000",
                                   "missing_reads": []}]
    with pytest.raises(InvalidInput):
        rpc.metering.agency_deliveries({"month": "2026-13"})


def test_a_meter_is_found_by_serial_or_endpoint_with_its_connection_and_account(running_services, rpc, publish):
    """Staff search (issue 11): a serial or AMI endpoint id leads to the account served through that meter."""
    from test_metering_service import open_account, set_meter

    running_services("metering")
    open_account(publish, "A0000042", "SC0000041")
    set_meter(rpc, "SN-40117", "SC0000041")
    rpc.metering.update_meter({"serial": "SN-40117", "ami_endpoint_id": "EP-88001"})
    rpc.metering.register_meter({"serial": "SN-99", "size": "5/8"})

    [by_serial] = rpc.metering.find_meters({"query": "sn-40117"})["meters"]
    assert (by_serial["matched"], by_serial["connection_id"], by_serial["account_id"], by_serial["account_status"]) == (
        "meter_serial", "SC0000041", "A0000042", "open")
    [by_endpoint] = rpc.metering.find_meters({"query": "EP-88001"})["meters"]
    assert (by_endpoint["serial"], by_endpoint["matched"]) == ("SN-40117", "ami_endpoint")
    [in_stock] = rpc.metering.find_meters({"query": "SN-99"})["meters"]
    assert (in_stock["connection_id"], in_stock["account_id"]) == (None, None)
    assert rpc.metering.find_meters({"query": "SN-4011"})["meters"] == []  # exact, not a prefix
    with pytest.raises(InvalidInput):
        rpc.metering.find_meters({"query": "S"})
