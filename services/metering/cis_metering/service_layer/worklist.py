"""The read exceptions worklist: staff list what VEE held and resolve it; every resolution is
audited (who, business date, old and new values, reason) in read_exception_resolutions."""
import uuid

import sqlalchemy as sa

from cis_metering.adapters.models import (Installation, Meter, ReadException, ReadExceptionResolution, RegisterRead,
                                          ServiceAccount)
from cis_metering.domain.model import DISTRICT_ZONE
from cis_metering.domain.worklist import (NO_READING_RULES, STATUS_AFTER, WAITING_FOR_FIELD, check_resolvable,
                                          interpolate)
from cis_runtime.errors import Conflict, NotFound

UNRESOLVED = ("open",) + WAITING_FOR_FIELD


def list_read_exceptions(uow, request: dict) -> dict:
    query = sa.select(ReadException).where(ReadException.exception_id > request["after_id"])
    if request["status"] == "unresolved":
        query = query.where(ReadException.status.in_(UNRESOLVED))
    elif request["status"] != "all":
        query = query.where(ReadException.status == request["status"])
    if request["rule"]:
        query = query.where(ReadException.rule == request["rule"])
    if request["meter_serial"]:
        query = query.where(ReadException.meter_serial == request["meter_serial"])
    found = uow.session.scalars(query.order_by(ReadException.exception_id).limit(request["limit"])).all()
    return {"exceptions": [_view(item) for item in found],
            "next_after_id": found[-1].exception_id if len(found) == request["limit"] else None}


def resolve_read_exception(uow, request: dict) -> dict:
    item = uow.session.get(ReadException, request["exception_id"], with_for_update=True)
    if item is None:
        raise NotFound("read exception", request["exception_id"])
    action = request["action"]
    check_resolvable(item.status, action, whole_block=item.details is not None and "values" in item.details,
                     rule=item.rule)
    reading = _held_reading(uow, item)
    old_value = reading.validated_value if reading is not None and reading.validated_value is not None else item.value
    new_value, work_order_id = None, None
    if action == "accept" and item.rule in NO_READING_RULES:
        pass  # acknowledged (the field check was done): no reading changes
    elif action == "accept":
        new_value = item.value
        _set_reading(uow, item, reading, raw=item.value, validated=item.value, quality="actual")
    elif action == "edit":
        new_value = request["new_value"]
        _set_reading(uow, item, reading, raw=item.value, validated=new_value, quality="edited")
    elif action == "estimate":
        new_value = interpolate(item.read_at, *_neighbours(uow, item))
        if new_value is None:
            raise Conflict("no validated readings on both sides of this instant to estimate from; "
                           "edit it or request a re-read")
        _set_reading(uow, item, reading, raw=item.value, validated=new_value, quality="estimated")
    else:
        work_order_id = request_field_work(uow, item, request)
    resolution = ReadExceptionResolution(
        exception_id=item.exception_id, action=action, resolved_by=request["resolved_by"], resolved_on=uow.today(),
        reason=request["reason"], old_value=old_value, new_value=new_value, old_status=item.status,
        new_status=STATUS_AFTER[action], work_order_id=work_order_id)
    item.status = STATUS_AFTER[action]
    item.resolved = item.status not in UNRESOLVED
    uow.session.add(resolution)
    uow.session.flush()
    result = {"resolution_id": resolution.resolution_id, "exception_id": item.exception_id, "action": action,
              "status": item.status, "resolved_by": resolution.resolved_by, "resolved_on": resolution.resolved_on,
              "reason": resolution.reason, "old_value": old_value, "new_value": new_value,
              "work_order_id": work_order_id}
    uow.commit()
    return result


def _held_reading(uow, item: ReadException) -> RegisterRead | None:
    return uow.session.get(RegisterRead, (item.meter_serial, item.register, item.read_at), with_for_update=True)


def _set_reading(uow, item, reading, raw, validated, quality) -> None:
    if item.rule == "conflicting_duplicate":
        # The stored reading stays the raw record; the resolution decides which value billing uses.
        raw = reading.value if reading is not None else raw
    if reading is None:
        uow.session.add(RegisterRead(meter_serial=item.meter_serial, register=item.register, read_at=item.read_at,
                                     value=raw, unit=item.unit, validated_value=validated, quality=quality,
                                     source="ami", batch_id=item.batch_id))
    else:
        reading.validated_value, reading.quality = validated, quality


def _neighbours(uow, item: ReadException):
    def nearest(before: bool):
        comparison = RegisterRead.read_at < item.read_at if before else RegisterRead.read_at > item.read_at
        order = RegisterRead.read_at.desc() if before else RegisterRead.read_at.asc()
        return uow.session.execute(
            sa.select(RegisterRead.read_at, RegisterRead.validated_value)
            .where(RegisterRead.meter_serial == item.meter_serial, RegisterRead.register == item.register,
                   RegisterRead.validated_value.is_not(None), comparison)
            .order_by(order).limit(1)).first()
    return nearest(before=True), nearest(before=False)


def request_field_work(uow, item: ReadException, request: dict, account_id: str | None = None) -> str:
    """Emit the work order for `item`, naming the meter's open account (or `account_id`: a closed one
    asking for its final read) with its service address and APN."""
    account = (ServiceAccount.status == "open") if account_id is None else (ServiceAccount.account_id == account_id)
    where = uow.session.execute(
        sa.select(Meter.size, Meter.meter_type, Meter.ami_endpoint_id, Installation.connection_id,
                  ServiceAccount.account_id, ServiceAccount.service_address, ServiceAccount.apn)
        .select_from(Meter)
        .outerjoin(Installation, sa.and_(Installation.serial == Meter.serial, Installation.removed_on.is_(None)))
        .outerjoin(ServiceAccount, sa.and_(ServiceAccount.connection_id == Installation.connection_id,
                                           account))
        .where(Meter.serial == item.meter_serial)).first()
    order_id = f"mwo-{uuid.uuid4()}"
    installation = None
    if where is not None:
        installation = f'{where.size}" {where.meter_type}' + (
            f", AMI endpoint {where.ami_endpoint_id}" if where.ami_endpoint_id else ", manually read")
    uow.emit("metering.field_work_requested.v1", {
        "order_id": order_id, "work": "reread_meter" if request["action"] == "request_reread" else "check_meter",
        "meter_serial": item.meter_serial, "register": item.register,
        "meter_size": where.size if where else None, "meter_type": where.meter_type if where else None,
        "installation": installation, "connection_id": where.connection_id if where else None,
        "account_id": where.account_id if where else None,
        "service_address": where.service_address if where else None, "apn": where.apn if where else None,
        "exception_id": item.exception_id, "rule": item.rule, "reason": request["reason"],
        "requested_by": request["resolved_by"], "requested_on": uow.today()})
    return order_id


def _view(item: ReadException) -> dict:
    return {"exception_id": item.exception_id, "meter_serial": item.meter_serial, "register": item.register,
            "read_at": item.read_at.astimezone(DISTRICT_ZONE), "value": item.value, "unit": item.unit,
            "rule": item.rule, "reason": item.reason, "details": item.details, "status": item.status,
            "batch_id": item.batch_id}
