"""Reads files (Badger BEACON interval CSV, generic CSV) end in the same read model as AMI batches;
imports are idempotent and report rejected rows with line numbers."""
import io
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import InvalidInput

BEACON_HEADER = "Endpoint_SN,Endpoint_Type,Encoder_Value,Read_Time,Read_Interval\n"


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start_with_meter(running_services, rpc, serial="M-1", endpoint="130411962", unit="HCF"):
    running_services("metering")
    rpc.metering.register_meter({"serial": serial, "size": "5/8", "unit": unit})
    # Near the readings below: 1,234 HCF in two weeks would pass a 5/8" meter's rating (consumption_ceiling).
    rpc.metering.install_meter({"serial": serial, "connection_id": "SC0000001", "installed_on": "2026-01-01",
                                "initial_read": "1230"})
    with engine_for("metering").begin() as db:  # endpoint ids are set by the inventory RPCs of a later step
        db.execute(sa.text("update meters set ami_endpoint_id = :e where serial = :s"), {"e": endpoint, "s": serial})


def beacon(*lines):
    return BEACON_HEADER + "".join(line + "\n" for line in lines)


def import_file(rpc, content, file_format="beacon", name="export.csv"):
    return rpc.metering.import_reads_file({"file_format": file_format, "file_name": name, "content": content})


def stored_reads(serial="M-1"):
    return rows("select to_char(read_at at time zone 'America/Los_Angeles', 'MM-DD HH24:MI'), value, quality "
                "from register_reads where meter_serial = :s and source = 'ami' order by read_at", s=serial)


def test_a_beacon_export_is_stored_against_the_meter_of_its_endpoint(running_services, rpc):
    start_with_meter(running_services, rpc)
    report = import_file(rpc, beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60",
                                     "130411962,ORION_CELLULAR,1234.12,2026-01-15 01:00:00,60"))
    assert (report["rows"], report["stored"], report["held"], report["rejected"]) == (2, 2, 0, [])
    assert stored_reads() == [("01-15 00:00", Decimal("1234.10"), "actual"),
                              ("01-15 01:00", Decimal("1234.12"), "actual")]


def test_the_same_file_imported_twice_stores_nothing_new(running_services, rpc):
    start_with_meter(running_services, rpc)
    content = beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60")
    first, second = import_file(rpc, content), import_file(rpc, content, name="renamed.csv")
    assert (first["already_imported"], second["already_imported"]) == (False, True)
    assert second["file_name"] == "export.csv" and len(stored_reads()) == 1


def test_an_overlapping_file_adds_only_the_readings_not_yet_stored(running_services, rpc):
    start_with_meter(running_services, rpc)
    import_file(rpc, beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60"))
    report = import_file(rpc, beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60",
                                     "130411962,ORION_CELLULAR,1234.11,2026-01-15 01:00:00,60"))
    assert report["stored"] == 1 and len(stored_reads()) == 2


def test_rejected_rows_are_reported_with_line_number_and_reason_and_the_rest_stored(running_services, rpc):
    start_with_meter(running_services, rpc)
    report = import_file(rpc, beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60",
                                     "130411962,ORION_CELLULAR,12;5,2026-01-15 01:00:00,60",
                                     "130411962,ORION_CELLULAR,1234.30,yesterday,60",
                                     "130411962,ORION_CELLULAR,1234.40,2026-01-15 03:00:00,7",
                                     "130411962,ORION_CELLULAR,1299.00,2026-01-15 00:00:00,60"))
    assert report["rejected"] == [
        {"line": 3, "reason": "Encoder_Value '12;5' is not a register reading (digits, up to 6 decimals)"},
        {"line": 4, "reason": "Read_Time 'yesterday' is not an ISO 8601 date and time"},
        {"line": 5, "reason": "Read_Interval '7' is not one of 5, 15, 30, 60, 1440 minutes"},
        {"line": 6, "reason": "conflicts with line 2: 1299.00 against 1234.10 at the same time"}]
    assert stored_reads() == [("01-15 00:00", Decimal("1234.10"), "actual")]


def test_a_file_missing_a_column_is_refused_whole_naming_the_column(running_services, rpc):
    start_with_meter(running_services, rpc)
    with pytest.raises(InvalidInput) as refused:
        import_file(rpc, "Endpoint_SN,Encoder_Value,Read_Time\n130411962,1.0,2026-01-15 00:00:00\n")
    assert "Endpoint_Type" in str(refused.value) and "Read_Interval" in str(refused.value)
    assert stored_reads() == [] and rows("select count(*) from imported_files") == [(0,)]


def test_readings_of_an_unknown_endpoint_are_held_as_exceptions_not_dropped(running_services, rpc):
    start_with_meter(running_services, rpc)
    report = import_file(rpc, beacon("999,ORION_ME,55.5,2026-01-15 00:00:00,60"))
    assert (report["stored"], report["held"]) == (0, 1)
    assert rows("select meter_serial, rule, details->'values' from read_exceptions") == [
        ("999", "unknown_meter", ["55.5"])]


def test_a_generic_csv_with_zones_registers_and_units_lands_in_the_same_read_model(running_services, rpc):
    start_with_meter(running_services, rpc, unit="gallons")
    report = import_file(rpc, "meter_serial,read_at,value,register,unit\n"
                              "M-1,2026-01-15T08:00:00Z,88012.5,main,gallons\n"
                              "M-1,2026-01-16T08:00:00Z,88100,main,gallons\n", file_format="generic")
    assert (report["stored"], report["rejected"]) == (2, [])
    assert stored_reads() == [("01-15 00:00", Decimal("88012.5"), "actual"),
                              ("01-16 00:00", Decimal("88100"), "actual")]


def test_the_command_line_import_prints_its_report(running_services, rpc, tmp_path):
    start_with_meter(running_services, rpc)
    path = tmp_path / "beacon.csv"
    path.write_text(beacon("130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60"))
    result = subprocess.run([sys.executable, "-m", "cis_metering.imports", "beacon", str(path)],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["stored"] == 1


def test_a_file_read_in_small_chunks_stores_what_it_would_read_whole(service_db):
    """Large files are parsed and stored a chunk of rows at a time (bounded memory): a meter's series cut
    by a chunk end continues, a gap across the cut is interpolated, line numbers run on."""
    from cis_metering.service_layer import imports, services
    uow = service_db("metering")
    with uow() as work:
        services.register_meter(work, {"serial": "M-1", "size": "5/8", "make": None, "model": None,
                                       "register_digits": 6, "unit": "HCF"})
    with uow() as work:
        services.install_meter(work, {"serial": "M-1", "connection_id": "SC1", "installed_on": date(2026, 1, 1),
                                      "initial_read": Decimal("1230")})
    content = beacon("M-1,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60",
                     "M-1,ORION_CELLULAR,1234.12,2026-01-15 01:00:00,60",  # first chunk ends here
                     "M-1,ORION_CELLULAR,1234.16,2026-01-15 03:00:00,60",  # 02:00 missing, across the cut
                     "M-1,ORION_CELLULAR,oops,2026-01-15 04:00:00,60",
                     "M-1,ORION_CELLULAR,1234.20,2026-01-15 05:00:00,60")
    with uow() as work:
        report = imports.import_reads_stream(work, "beacon", "big.csv", "hash-of-big", lambda: io.StringIO(content),
                                             chunk_rows=2)
    # 4 readings + 02:00 and 04:00 interpolated (each gap noted, as in one block); the bad row rejected.
    assert (report["rows"], report["stored"], report["held"]) == (5, 6, 2)
    assert [r["line"] for r in report["rejected"]] == [5]
    assert rows("select to_char(read_at at time zone 'America/Los_Angeles', 'HH24'), validated_value, quality "
                "from register_reads where source = 'ami' order by read_at") == [
        ("00", Decimal("1234.10"), "actual"), ("01", Decimal("1234.12"), "actual"),
        ("02", Decimal("1234.14"), "estimated"), ("03", Decimal("1234.16"), "actual"),
        ("04", Decimal("1234.18"), "estimated"), ("05", Decimal("1234.20"), "actual")]
    assert rows("select read_count, stored_count, held_count from ami_batches") == [(4, 6, 2)]
