"""Metering use cases. Each runs in one unit of work: state and inbox record commit together."""
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from cis_metering.adapters import repository
from cis_metering.adapters.models import Installation, Meter, RegisterRead, ServiceAccount
from cis_metering.domain.model import (DISTRICT_ZONE, IN_STOCK, INSTALLED, MeterOnAccount, Read,
                                       check_fits_register, check_installable, determinant_or_missing,
                                       period_bounds, start_of_day)
from cis_runtime.errors import Conflict, NotFound

ACCOUNT_READS_SHOWN = 100


def register_meter(uow, request: dict) -> dict:
    if uow.session.get(Meter, request["serial"]):
        raise Conflict(f"meter {request['serial']} is already registered")
    meter = Meter(status=IN_STOCK, **request)
    uow.session.add(meter)
    try:
        uow.commit()
    except IntegrityError:  # registered concurrently
        raise Conflict(f"meter {request['serial']} is already registered") from None
    return meter_view(meter)


def install_meter(uow, request: dict) -> dict:
    meter = uow.session.get(Meter, request["serial"], with_for_update=True)
    if meter is None:
        raise NotFound("meter", request["serial"])
    check_installable(meter.status, meter.serial)
    check_fits_register(request["initial_read"], meter.register_digits, "initial_read")
    installed_at = start_of_day(request["installed_on"])
    uow.session.add(Installation(serial=meter.serial, connection_id=request["connection_id"],
                                 installed_on=request["installed_on"], installed_at=installed_at))
    uow.session.add(RegisterRead(meter_serial=meter.serial, read_at=installed_at, value=request["initial_read"],
                                 unit=meter.unit, source="install"))
    meter.status = INSTALLED
    try:
        uow.commit()
    except IntegrityError:
        # Meter exchanges (remove, then install another) are later work; until then one meter per connection.
        raise Conflict(f"connection {request['connection_id']} already has a meter installed "
                       f"(or meter {request['serial']} already has a read at {installed_at})") from None
    return dict(request)


def record_account_opened(uow, payload: dict) -> None:
    """Remember which connection the account takes water through (the caller recorded the inbox)."""
    uow.session.execute(insert(ServiceAccount).values(
        account_id=payload["account_id"], connection_id=payload["connection_id"], status="open",
        opened_on=payload["opened_on"]).on_conflict_do_nothing())
    uow.commit()


def ingest_ami_batch(uow, message_id: str, batch: dict) -> None:
    """Store a head-end batch once: new reads in one statement, reads that cannot be accepted held
    as read exceptions with the reason (never dropped). The caller recorded the message in the inbox."""
    if not repository.record_batch(uow.session, batch["batch_id"], batch["head_end"], message_id,
                                   len(batch["reads"])):
        uow.commit()  # a head-end re-publishing a batch it already sent: keep only the inbox record
        return
    meters = repository.meters_with_installation(uow.session, [r["meter_serial"] for r in batch["reads"]])
    accepted, held = [], []
    for read in batch["reads"]:
        reason = _hold_reason(read, meters.get(read["meter_serial"]))
        if reason:
            held.append((read, reason))
        else:
            accepted.append(read)
    stored = repository.insert_ami_reads(uow.session, batch["batch_id"], accepted)
    repository.insert_read_exceptions(uow.session, batch["batch_id"], held)
    repository.set_batch_counts(uow.session, batch["batch_id"], stored, len(held))
    uow.commit()


def _hold_reason(read: dict, meter) -> str | None:
    if meter is None:
        return "unknown meter"
    _status, installed_at = meter
    if installed_at is None:  # a read from a meter in stock: possible theft or a mis-keyed serial
        return "meter not installed"
    if read["read_at"] < installed_at:
        return "read before the meter was installed"
    return None


def get_consumption(uow, request: dict) -> dict:
    start_at, end_at = period_bounds(request["period_start"], request["period_end"])
    determinants, missing = [], []
    for row in repository.consumption_rows(uow.session, request["account_ids"], start_at, end_at):
        determinant, gap = determinant_or_missing(_meter_on_account(row), end_at)
        if determinant:
            determinants.append(determinant)
        else:
            missing.append(gap)
    return {"determinants": determinants, "missing": missing}


def _meter_on_account(row) -> MeterOnAccount:
    return MeterOnAccount(
        account_id=row.account_id, known_account=row.known_account, meter_serial=row.serial,
        meter_size=row.size, installed_at=row.installed_at,
        start=Read(row.start_value, row.start_unit, row.start_read_at) if row.start_read_at else None,
        end=Read(row.end_value, row.end_unit, row.end_read_at) if row.end_read_at else None)


def account_meter_reads(uow, account_id: str) -> dict:
    account = uow.session.get(ServiceAccount, account_id)
    if account is None:
        raise NotFound("account", account_id)
    meters = uow.session.execute(
        sa.select(Installation.serial, Meter.size, Installation.connection_id, Installation.installed_on)
        .join(Meter, Meter.serial == Installation.serial)
        .where(Installation.connection_id == account.connection_id)
        .order_by(Installation.installed_on.desc(), Installation.installation_id.desc())).all()
    reads = repository.latest_reads_on_connection(uow.session, account.connection_id, ACCOUNT_READS_SHOWN)
    return {
        "account_id": account_id,
        "meters": [dict(row._mapping) for row in meters],
        "reads": [{**row._mapping, "read_at": row.read_at.astimezone(DISTRICT_ZONE)} for row in reads],
    }


def meter_view(meter: Meter) -> dict:
    return {"serial": meter.serial, "size": meter.size, "make": meter.make, "model": meter.model,
            "register_digits": meter.register_digits, "unit": meter.unit, "status": meter.status}
