"""Meter inventory: details, accuracy tests, and deliveries through bulk (intertie) meters."""
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from cis_metering.adapters import repository
from cis_metering.adapters.models import Installation, Meter, MeterTest, ServiceAccount
from cis_metering.domain.model import acre_feet, period_bounds, to_hcf
from cis_runtime.errors import Conflict, NotFound

REGISTERS_OF_TYPE = {"displacement": ["main"], "turbine": ["main"], "compound": ["high", "low"]}
UPDATABLE = ("make", "model", "meter_type", "multiplier", "ami_endpoint_id", "delivers_to_agency", "locked")


def update_meter(uow, request: dict) -> dict:
    meter = _meter(uow, request["serial"])
    for field in UPDATABLE:
        if field in request:
            setattr(meter, field, request[field])
    try:
        uow.session.flush()
    except IntegrityError:
        raise Conflict(f"AMI endpoint {request.get('ami_endpoint_id')} is already on another meter") from None
    record = meter_record(uow, meter)
    uow.commit()
    return record


def record_meter_test(uow, request: dict) -> dict:
    meter = _meter(uow, request["serial"])
    uow.session.add(MeterTest(**request))
    uow.session.flush()
    record = meter_record(uow, meter)
    uow.commit()
    return record


def meter_record(uow, meter: Meter) -> dict:
    tests = uow.session.scalars(sa.select(MeterTest).where(MeterTest.serial == meter.serial)
                                .order_by(MeterTest.tested_on, MeterTest.test_id)).all()
    return {"serial": meter.serial, "size": meter.size, "make": meter.make, "model": meter.model,
            "meter_type": meter.meter_type, "registers": REGISTERS_OF_TYPE[meter.meter_type],
            "register_digits": meter.register_digits, "multiplier": meter.multiplier, "unit": meter.unit,
            "ami_endpoint_id": meter.ami_endpoint_id, "delivers_to_agency": meter.delivers_to_agency,
            "status": meter.status, "locked": meter.locked,
            "tests": [{"tested_on": t.tested_on.isoformat(), "tester": t.tester,
                       "low_flow_accuracy": str(t.low_flow_accuracy),
                       "intermediate_flow_accuracy": str(t.intermediate_flow_accuracy),
                       "high_flow_accuracy": str(t.high_flow_accuracy), "passed": t.passed, "notes": t.notes}
                      for t in tests]}


def agency_deliveries(uow, month: str) -> dict:
    """Per agency, the month's deliveries: end read minus start read of each bulk meter (all registers),
    times its multiplier, in HCF and acre-feet."""
    first = date.fromisoformat(f"{month}-01")
    next_month = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start_at, end_at = period_bounds(first, next_month - timedelta(days=1))
    agencies: dict[str, dict] = {}
    for row in repository.bulk_meter_reads(uow.session, start_at, end_at):
        agency = agencies.setdefault(row.agency, {"agency": row.agency, "meters": [], "hcf": 0, "missing_reads": []})
        if row.serial not in agency["meters"]:
            agency["meters"].append(row.serial)
        if row.start_value is None or row.end_value is None:
            agency["missing_reads"].append(f"{row.serial} ({row.register})")
            continue
        agency["hcf"] += (to_hcf(row.end_value, row.unit) - to_hcf(row.start_value, row.unit)) * row.multiplier
    return {"month": month, "agencies": [dict(a, acre_feet=acre_feet(a["hcf"])) for a in
                                         sorted(agencies.values(), key=lambda a: a["agency"])]}


def _meter(uow, serial: str) -> Meter:
    meter = uow.session.get(Meter, serial, with_for_update=True)
    if meter is None:
        raise NotFound("meter", serial)
    return meter


def find_meters(uow, request: dict) -> dict:
    """Meters whose serial or AMI endpoint id is the query (exact, either case): staff search (issue 11).
    Both lookups are unique indexes; the account is the open one on the meter's connection, else the last."""
    asked = {request["query"], request["query"].upper()}
    meters = uow.session.scalars(sa.select(Meter).where(
        sa.or_(Meter.serial.in_(asked), Meter.ami_endpoint_id.in_(asked))).order_by(Meter.serial)).all()
    return {"meters": [_meter_match(uow, meter, "meter_serial" if meter.serial in asked else "ami_endpoint")
                       for meter in meters]}


def _meter_match(uow, meter: Meter, matched: str) -> dict:
    connection_id = uow.session.scalar(sa.select(Installation.connection_id).where(
        Installation.serial == meter.serial, Installation.removed_on.is_(None)))
    account = None
    if connection_id:
        account = uow.session.scalars(sa.select(ServiceAccount).where(ServiceAccount.connection_id == connection_id)
                                      .order_by((ServiceAccount.status == "open").desc(),
                                                ServiceAccount.opened_on.desc())).first()
    return {"serial": meter.serial, "ami_endpoint_id": meter.ami_endpoint_id, "matched": matched,
            "status": meter.status, "connection_id": connection_id,
            "account_id": account and account.account_id, "account_status": account and account.status,
            "apn": account and account.apn, "service_address": account and account.service_address}
