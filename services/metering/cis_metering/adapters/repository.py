"""Set-based queries of the metering database: AMI batches and consumption are handled in a few
statements whatever their size (a batch holds up to 10,000 reads; billing asks for up to 20,000
accounts at once), never one statement per read or per account."""
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cis_metering.adapters.models import AmiBatch, ReadException
from cis_metering.domain.vee import MeterFacts

# (year, month) partitions this process has made sure of; a cache, so most batches skip the check.
_KNOWN_PARTITIONS: set[tuple[int, int]] = set()

_METERS_WITH_INSTALLATION = sa.text("""
    select m.serial, m.status, i.installed_at
    from meters m
    left join installations i on i.serial = m.serial and i.removed_on is null
    where m.serial = any(cast(:serials as text[]))
""")

_METER_FACTS = sa.text("""
    select m.serial, m.unit, m.register_digits, i.installed_at
    from meters m
    left join installations i on i.serial = m.serial and i.removed_on is null
    where m.serial = any(cast(:serials as text[]))
""")

_INSERT_AMI_READS = sa.text("""
    insert into register_reads (meter_serial, register, read_at, value, unit, validated_value, quality, source,
                                batch_id)
    select r.serial, 'main', r.read_at, r.value, r.unit, r.value, 'actual', 'ami', :batch_id
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
           s.raw as start_raw, s.quality as start_quality, s.source as start_source,
           e.value as end_value, e.unit as end_unit, e.read_at as end_read_at,
           e.raw as end_raw, e.quality as end_quality, e.source as end_source
    from requested r
    left join service_accounts a on a.account_id = r.account_id
    left join installations i on i.connection_id = a.connection_id and i.removed_on is null
    left join meters m on m.serial = i.serial
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = 'main' and rr.validated_value is not null
          and rr.read_at >= i.installed_at
          and rr.read_at <= greatest(cast(:start_at as timestamptz), i.installed_at)
        order by rr.read_at desc limit 1
    ) s on true
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = 'main' and rr.validated_value is not null
          and rr.read_at >= i.installed_at
          and rr.read_at < cast(:end_at as timestamptz)
        order by rr.read_at desc limit 1
    ) e on true
    order by r.account_id
""")

_ACCOUNT_READS = sa.text("""
    select rr.meter_serial, rr.read_at, rr.value, rr.unit,
           -- account_reads.v1 knows install, ami and manual: handheld and exchange final reads are manual ones
           case when rr.source in ('handheld', 'final') then 'manual' else rr.source end as source
    from installations i
    join register_reads rr on rr.meter_serial = i.serial and rr.read_at >= i.installed_at and rr.value is not null
     and (i.removed_on is null or rr.read_at <= cast(i.removed_on as timestamp) at time zone 'America/Los_Angeles')
    where i.connection_id = :connection_id
    order by rr.read_at desc
    limit :limit
""")


def ensure_partitions(engine: sa.Engine, instants) -> None:
    """Create the monthly partitions holding `instants`, each in its own short transaction: creating a
    partition locks the whole table, so it must not wait inside an ingest transaction.

    Call it BEFORE the unit of work reads or writes register_reads: a transaction of this process
    holding even a read lock on the table would make the creation wait for it forever (two connections,
    one process: PostgreSQL cannot see that deadlock). The lock timeout turns such a mistake into an error."""
    months = sorted({(instant.astimezone(timezone.utc).year, instant.astimezone(timezone.utc).month)
                     for instant in instants} - _KNOWN_PARTITIONS)
    for year, month in months:
        with engine.begin() as connection:
            connection.execute(sa.text("set local lock_timeout = '20s'"))
            connection.execute(sa.text("select ensure_register_read_partition(:instant)"),
                               {"instant": datetime(year, month, 1, tzinfo=timezone.utc)})
        _KNOWN_PARTITIONS.add((year, month))


def forget_partitions() -> None:
    """For tests that drop partitions (truncate keeps them; nothing in the suite drops them)."""
    _KNOWN_PARTITIONS.clear()


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


def meter_facts(session: Session, serials) -> dict[str, MeterFacts]:
    """What VEE needs to know of each meter, for many meters in one query."""
    rows = session.execute(_METER_FACTS, {"serials": sorted(set(serials))})
    return {row.serial: MeterFacts(row.unit, row.register_digits, row.installed_at) for row in rows}


_METERS_BY_REFERENCE = sa.text("""
    select ref, m.serial, m.unit
    from unnest(cast(:refs as text[])) as r(ref)
    join meters m on m.ami_endpoint_id = r.ref or m.serial = r.ref
    order by (m.ami_endpoint_id = r.ref) desc
""")


def meters_by_reference(session: Session, references) -> dict[str, tuple[str, str]]:
    """{endpoint id or serial: (meter serial, register unit)}; an endpoint id wins over a serial."""
    found = {}
    for row in session.execute(_METERS_BY_REFERENCE, {"refs": sorted(set(references))}):
        found.setdefault(row.ref, (row.serial, row.unit))
    return found


_CONNECTIONS_OF_METERS = sa.text("""
    select i.serial, i.connection_id, a.account_id
    from installations i
    left join service_accounts a on a.connection_id = i.connection_id and a.status = 'open'
    where i.removed_on is null and i.serial = any(cast(:serials as text[]))
""")


_PREVIOUS_VALIDATED_READ = sa.text("""
    select read_at, validated_value from register_reads
    where meter_serial = :serial and register = :register and validated_value is not null and read_at < :at
    order by read_at desc limit 1
""")


def previous_validated_read(session: Session, serial: str, register: str, at: datetime):
    return session.execute(_PREVIOUS_VALIDATED_READ, {"serial": serial, "register": register, "at": at}).first()


def connections_of_meters(session: Session, serials) -> dict[str, tuple[str, str | None]]:
    """{meter serial: (connection id, open account id or None)} for meters in the ground."""
    return {row.serial: (row.connection_id, row.account_id)
            for row in session.execute(_CONNECTIONS_OF_METERS, {"serials": sorted(set(serials))})}


def insert_exception_rows(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(ReadException), rows)


def insert_exception_rows_returning_ids(session: Session, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    statement = insert(ReadException).returning(ReadException.exception_id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))


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


def insert_read_exceptions(session: Session, batch_id: str, held: list[tuple[dict, tuple[str, str]]]) -> None:
    if held:
        session.execute(insert(ReadException), [
            {"batch_id": batch_id, "meter_serial": read["meter_serial"], "read_at": read["read_at"],
             "value": read["value"], "unit": read["unit"], "rule": rule, "reason": reason}
            for read, (rule, reason) in held])


_UNRESOLVED_EXCEPTIONS = sa.text("""
    select meter_serial, array_agg(exception_id order by exception_id) as exception_ids,
           string_agg(distinct rule, ', ') as rules
    from read_exceptions
    where status in ('open', 'reread_requested', 'meter_check_requested')
      and meter_serial = any(cast(:serials as text[]))
      and read_at < cast(:end_at as timestamptz) and read_at >= cast(:start_at as timestamptz) - interval '1 day'
    group by meter_serial
""")


def unresolved_exceptions(session: Session, serials, start_at: datetime, end_at: datetime) -> dict:
    """{meter serial: (exception ids, rules)} for exceptions still open around a billing period."""
    rows = session.execute(_UNRESOLVED_EXCEPTIONS, {"serials": sorted(set(serials)), "start_at": start_at,
                                                    "end_at": end_at})
    return {row.meter_serial: (row.exception_ids, row.rules) for row in rows}


# Meters taken out of an account's connection inside the period (an exchange): their start read and
# their final read (the reading at removal, start of removed_on in District time).
_REMOVED_IN_PERIOD = sa.text("""
    select a.account_id, i.serial,
           s.value as start_value, s.unit as start_unit, s.read_at as start_read_at, s.raw as start_raw,
           s.quality as start_quality, s.source as start_source,
           f.value as final_value, f.unit as final_unit, f.read_at as final_read_at, f.raw as final_raw,
           f.quality as final_quality, f.source as final_source
    from service_accounts a
    join installations i on i.connection_id = a.connection_id and i.removed_on is not null
    cross join lateral (select cast(i.removed_on as timestamp) at time zone 'America/Los_Angeles' as removed_at) r
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = 'main' and rr.validated_value is not null
          and rr.read_at >= i.installed_at and rr.read_at <= greatest(cast(:start_at as timestamptz), i.installed_at)
        order by rr.read_at desc limit 1
    ) s on true
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = 'main' and rr.validated_value is not null
          and rr.read_at >= i.installed_at and rr.read_at <= r.removed_at
        order by rr.read_at desc limit 1
    ) f on true
    where a.account_id = any(cast(:account_ids as text[]))
      and r.removed_at > cast(:start_at as timestamptz) and r.removed_at < cast(:end_at as timestamptz)
""")


def removed_in_period(session: Session, account_ids: list[str], start_at: datetime, end_at: datetime):
    if not account_ids:
        return []
    return session.execute(_REMOVED_IN_PERIOD, {"account_ids": account_ids, "start_at": start_at,
                                                "end_at": end_at}).all()


# Each register of each bulk meter: the latest validated read at or before the month start and the
# latest before its end.
_BULK_METER_READS = sa.text("""
    select m.delivers_to_agency as agency, m.serial, m.multiplier, m.unit, r.register,
           s.validated_value as start_value, e.validated_value as end_value
    from meters m
    cross join lateral (select distinct register from register_reads where meter_serial = m.serial) r
    left join lateral (
        select validated_value from register_reads
        where meter_serial = m.serial and register = r.register and validated_value is not null
          and read_at <= cast(:start_at as timestamptz) order by read_at desc limit 1) s on true
    left join lateral (
        select validated_value from register_reads
        where meter_serial = m.serial and register = r.register and validated_value is not null
          and read_at < cast(:end_at as timestamptz) order by read_at desc limit 1) e on true
    where m.delivers_to_agency is not null
    order by m.delivers_to_agency, m.serial, r.register
""")


def bulk_meter_reads(session: Session, start_at: datetime, end_at: datetime):
    return session.execute(_BULK_METER_READS, {"start_at": start_at, "end_at": end_at}).all()


def consumption_rows(session: Session, account_ids: list[str], start_at: datetime, end_at: datetime):
    return session.execute(_CONSUMPTION, {"account_ids": account_ids, "start_at": start_at, "end_at": end_at}).all()


def latest_reads_on_connection(session: Session, connection_id: str, limit: int):
    return session.execute(_ACCOUNT_READS, {"connection_id": connection_id, "limit": limit}).all()
