"""Set-based queries of the metering database: AMI batches and consumption are handled in a few
statements whatever their size (a batch holds up to 10,000 reads; billing asks for up to 20,000
accounts at once), never one statement per read or per account."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cis_metering.adapters.models import AmiBatch, ReadException

_METERS_WITH_INSTALLATION = sa.text("""
    select m.serial, m.status, i.installed_at
    from meters m
    left join installations i on i.serial = m.serial and i.removed_on is null
    where m.serial = any(cast(:serials as text[]))
""")

_INSERT_AMI_READS = sa.text("""
    insert into register_reads (meter_serial, read_at, value, unit, source, batch_id)
    select r.serial, r.read_at, r.value, r.unit, 'ami', :batch_id
    from unnest(cast(:serials as text[]), cast(:read_ats as timestamptz[]),
                cast(:reads as numeric[]), cast(:units as text[])) as r(serial, read_at, value, unit)
    on conflict on constraint register_reads_one_per_instant do nothing
""")

# Per requested account: its current meter, the start read (latest at or before the period start,
# or the install read when the meter went in later) and the end read (latest before the period end).
# Reads before the installation belong to the meter's previous life and are not considered.
_CONSUMPTION = sa.text("""
    with requested as (
        select distinct account_id from unnest(cast(:account_ids as text[])) as r(account_id)
    )
    select r.account_id, a.account_id is not null as known_account,
           i.serial, m.size, i.installed_at,
           s.value as start_value, s.unit as start_unit, s.read_at as start_read_at,
           e.value as end_value, e.unit as end_unit, e.read_at as end_read_at
    from requested r
    left join service_accounts a on a.account_id = r.account_id
    left join installations i on i.connection_id = a.connection_id and i.removed_on is null
    left join meters m on m.serial = i.serial
    left join lateral (
        select rr.value, rr.unit, rr.read_at from register_reads rr
        where rr.meter_serial = i.serial and rr.read_at >= i.installed_at
          and rr.read_at <= greatest(cast(:start_at as timestamptz), i.installed_at)
        order by rr.read_at desc limit 1
    ) s on true
    left join lateral (
        select rr.value, rr.unit, rr.read_at from register_reads rr
        where rr.meter_serial = i.serial and rr.read_at >= i.installed_at
          and rr.read_at < cast(:end_at as timestamptz)
        order by rr.read_at desc limit 1
    ) e on true
    order by r.account_id
""")

_ACCOUNT_READS = sa.text("""
    select rr.meter_serial, rr.read_at, rr.value, rr.unit, rr.source
    from installations i
    join register_reads rr on rr.meter_serial = i.serial and rr.read_at >= i.installed_at
     and (i.removed_on is null or rr.read_at < cast(i.removed_on as timestamp) at time zone 'America/Los_Angeles')
    where i.connection_id = :connection_id
    order by rr.read_at desc
    limit :limit
""")


def record_batch(session: Session, batch_id: str, head_end: str, message_id: str, read_count: int) -> bool:
    """Record the batch; False if this batch_id was processed before (nothing more to do)."""
    inserted = session.execute(
        insert(AmiBatch).values(batch_id=batch_id, head_end=head_end, message_id=message_id,
                                read_count=read_count, stored_count=0, held_count=0)
        .on_conflict_do_nothing().returning(AmiBatch.batch_id)).first()
    return inserted is not None


def set_batch_counts(session: Session, batch_id: str, stored: int, held: int) -> None:
    session.execute(sa.update(AmiBatch).where(AmiBatch.batch_id == batch_id)
                    .values(stored_count=stored, held_count=held))


def meters_with_installation(session: Session, serials: list[str]) -> dict[str, tuple[str, datetime | None]]:
    rows = session.execute(_METERS_WITH_INSTALLATION, {"serials": sorted(set(serials))})
    return {row.serial: (row.status, row.installed_at) for row in rows}


def insert_ami_reads(session: Session, batch_id: str, reads: list[dict]) -> int:
    """Insert in one statement; a read already stored for the same meter and instant is skipped.
    Returns how many were new."""
    if not reads:
        return 0
    result = session.execute(_INSERT_AMI_READS, {
        "batch_id": batch_id,
        "serials": [r["meter_serial"] for r in reads], "read_ats": [r["read_at"] for r in reads],
        "reads": [r["value"] for r in reads], "units": [r["unit"] for r in reads]})
    return result.rowcount


def insert_read_exceptions(session: Session, batch_id: str, held: list[tuple[dict, str]]) -> None:
    if held:
        session.execute(insert(ReadException), [
            {"batch_id": batch_id, "meter_serial": read["meter_serial"], "read_at": read["read_at"],
             "value": read["value"], "unit": read["unit"], "reason": reason} for read, reason in held])


def consumption_rows(session: Session, account_ids: list[str], start_at: datetime, end_at: datetime):
    return session.execute(_CONSUMPTION, {"account_ids": account_ids, "start_at": start_at, "end_at": end_at}).all()


def latest_reads_on_connection(session: Session, connection_id: str, limit: int):
    return session.execute(_ACCOUNT_READS, {"connection_id": connection_id, "limit": limit}).all()
