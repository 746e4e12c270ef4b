"""Set-based queries of the metering database: AMI batches and consumption are handled in a few
statements whatever their size (a batch holds up to 10,000 reads; billing asks for up to 20,000
accounts at once), never one statement per read or per account."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cis_metering.adapters.interval_store import block_end
from cis_metering.adapters.district_data import consumption_ceilings
from cis_metering.adapters.models import AmiBatch, ReadException
from cis_metering.domain.ceilings import usage_ceiling
from cis_metering.domain.model import start_of_day
from cis_metering.domain.vee import MeterFacts, StoredRead

# (year, month) partitions this process has made sure of; a cache, so most batches skip the check.
_KNOWN_PARTITIONS: set[tuple[int, int]] = set()

_METERS_WITH_INSTALLATION = sa.text("""
    select m.serial, m.status, i.installed_at
    from meters m
    left join installations i on i.serial = m.serial and i.removed_on is null
    where m.serial = any(cast(:serials as text[]))
""")

_METER_FACTS = sa.text("""
    select m.serial, m.unit, m.register_digits, m.size, i.installed_at,
           o.account_id is not null as account_open, o.customer_class, o.dwelling_units,
           (select max(a.closed_on) from service_accounts a where a.connection_id = i.connection_id
             and a.status = 'closed') as closed_on
    from meters m
    left join installations i on i.serial = m.serial and i.removed_on is null
    left join lateral (
        select a.account_id, a.customer_class, a.dwelling_units from service_accounts a
        where a.connection_id = i.connection_id and a.status = 'open' limit 1
    ) o on true
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

# A meter's registers: `high` and `low` on a compound meter, else `main` (SQL, for the queries below).
_REGISTERS_OF_METER = "unnest(case when m.meter_type = 'compound' then array['high', 'low'] else array['main'] end)"

# Per requested account and register of its meter at the period's end: the start read (latest at or
# before the period start, or the install read when the meter went in later) and the end read (latest at
# or before the period end: the read boundary rule, domain/model.py). Reads before the installation
# belong to the meter's previous life and are not considered.
_CONSUMPTION = sa.text(f"""
    with requested as (
        select distinct account_id from unnest(cast(:account_ids as text[])) as r(account_id)
    )
    select r.account_id, a.account_id is not null as known_account,
           i.serial, m.size, m.multiplier, m.register_digits, i.installed_at, g.register,
           s.value as start_value, s.unit as start_unit, s.read_at as start_read_at,
           s.raw as start_raw, s.quality as start_quality, s.source as start_source,
           e.value as end_value, e.unit as end_unit, e.read_at as end_read_at,
           e.raw as end_raw, e.quality as end_quality, e.source as end_source
    from requested r
    left join service_accounts a on a.account_id = r.account_id
    left join lateral (
        -- The meter in place at the period's end instant (one exchanged at that instant or later included:
        -- its final read ends the period), else the current one (installed after the period).
        select i.serial, i.installed_at from installations i
        where i.connection_id = a.connection_id
          and (i.removed_on is null
               or cast(i.removed_on as timestamp) at time zone 'America/Los_Angeles' >= cast(:end_at as timestamptz))
        order by i.installed_at < cast(:end_at as timestamptz) desc, i.installed_at desc limit 1
    ) i on true
    left join meters m on m.serial = i.serial
    cross join lateral {_REGISTERS_OF_METER} as g(register)
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = g.register and rr.validated_value is not null
          and rr.read_at >= i.installed_at
          and rr.read_at <= greatest(cast(:start_at as timestamptz), i.installed_at)
        order by rr.read_at desc limit 1
    ) s on true
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = g.register and rr.validated_value is not null
          and rr.read_at >= i.installed_at
          and rr.read_at <= cast(:end_at as timestamptz)
        order by rr.read_at desc limit 1
    ) e on true
    order by r.account_id, g.register
""")

_ACCOUNT_READS = sa.text("""
    select rr.meter_serial, rr.read_at, rr.value, rr.unit, rr.validated_value, rr.quality,
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


def set_batch_counts(session: Session, batch_id: str, stored: int, held: int, read_count: int | None = None) -> None:
    counts = {"stored_count": stored, "held_count": held}
    if read_count is not None:
        counts["read_count"] = read_count
    session.execute(sa.update(AmiBatch).where(AmiBatch.batch_id == batch_id).values(**counts))


def meters_with_installation(session: Session, serials: list[str]) -> dict[str, tuple[str, datetime | None]]:
    rows = session.execute(_METERS_WITH_INSTALLATION, {"serials": sorted(set(serials))})
    return {row.serial: (row.status, row.installed_at) for row in rows}


def meter_facts(session: Session, serials) -> dict[str, MeterFacts]:
    """What VEE needs to know of each meter, for many meters in one query."""
    rows = session.execute(_METER_FACTS, {"serials": sorted(set(serials))})
    ceilings = consumption_ceilings()
    return {row.serial: MeterFacts(row.unit, row.register_digits, row.installed_at, row.account_open,
                                   None if row.account_open or row.closed_on is None
                                   else start_of_day(row.closed_on + timedelta(days=1)),
                                   usage_ceiling(ceilings, row.size, row.unit, row.customer_class, row.dwelling_units))
            for row in rows}


# Per block: the meter register's last reading before the block (within the lookback, so only the latest
# partitions are searched), for the VEE rules across batch boundaries; when that reading is held, the last
# valid one before it too (a held reading is never a reference; the second lookup runs only then). And the
# first reading stored at or after the block's start: after its end for a late block, inside it for a block
# overlapping stored readings (both rare; the common block, new data at the head, finds none).
_PREVIOUS_READS = sa.text("""
    select q.serial, q.register, q.start_at, p.read_at, p.validated_value, p.source,
           v.read_at as valid_at, v.validated_value as valid_value, v.source as valid_source,
           n.read_at as next_at, n.value as next_value, n.source as next_source, n.batch_id as next_batch_id
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:starts as timestamptz[]),
                cast(:ends as timestamptz[])) as q(serial, register, start_at, end_at)
    left join lateral (
        select rr.read_at, rr.validated_value, rr.source from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.value is not null
          and rr.read_at < q.start_at and rr.read_at >= q.start_at - make_interval(days => :lookback_days)
        order by rr.read_at desc limit 1
    ) p on true
    left join lateral (
        select rr.read_at, rr.validated_value, rr.source from register_reads rr
        where p.read_at is not null and p.validated_value is null
          and rr.meter_serial = q.serial and rr.register = q.register and rr.validated_value is not null
          and rr.read_at < p.read_at and rr.read_at >= q.start_at - make_interval(days => :lookback_days)
        order by rr.read_at desc limit 1
    ) v on true
    left join lateral (
        select rr.read_at, rr.value, rr.source, rr.batch_id from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.value is not null
          and rr.read_at >= q.start_at and rr.read_at <= q.end_at + make_interval(days => :lookback_days)
        order by rr.read_at limit 1
    ) n on true
    where p.read_at is not null or n.read_at is not null
""")

# For the few blocks overlapping stored readings: those readings (as received and validated), and the
# first reading stored after the block's end.
_STORED_IN_BLOCKS = sa.text("""
    select q.serial, q.register, q.start_at, s.read_at, s.value, s.validated_value, s.source, s.batch_id,
           s.read_at > q.end_at as after_block
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:starts as timestamptz[]),
                cast(:ends as timestamptz[])) as q(serial, register, start_at, end_at)
    join lateral (
        (select rr.read_at, rr.value, rr.validated_value, rr.source, rr.batch_id from register_reads rr
         where rr.meter_serial = q.serial and rr.register = q.register and rr.value is not null
           and rr.read_at >= q.start_at and rr.read_at <= q.end_at)
        union all
        (select rr.read_at, rr.value, rr.validated_value, rr.source, rr.batch_id from register_reads rr
         where rr.meter_serial = q.serial and rr.register = q.register and rr.value is not null
           and rr.read_at > q.end_at and rr.read_at <= q.end_at + make_interval(days => :lookback_days)
         order by rr.read_at limit 1)
    ) s on true
""")


@dataclass(frozen=True)
class NextRead:
    """The reading stored after a (late) block, and the batch it came in."""
    read: StoredRead
    batch_id: str | None


@dataclass(frozen=True)
class Neighbours:
    """What is stored around and inside a batch's blocks, keyed by (serial, register, interval_start)."""
    before: dict  # the last valid reading before the block (StoredRead; held_through set when held ones follow)
    after: dict  # the first reading after the block's end (NextRead), for a late block
    inside: dict  # {read_at: (raw, validated value)} of readings stored inside an overlapping block


def neighbour_reads(session: Session, blocks: list[dict], lookback_days: int) -> Neighbours:
    """The stored readings the VEE rules of these blocks compare with (see _PREVIOUS_READS)."""
    if not blocks:
        return Neighbours({}, {}, {})
    ends = {(b["meter_serial"], b["register"], b["interval_start"]): block_end(b) for b in blocks}
    rows = session.execute(_PREVIOUS_READS, {
        "serials": [b["meter_serial"] for b in blocks], "registers": [b["register"] for b in blocks],
        "starts": [b["interval_start"] for b in blocks], "ends": [block_end(b) for b in blocks],
        "lookback_days": lookback_days})
    before, after, overlapping = {}, {}, []
    for row in rows:
        key = (row.serial, row.register, row.start_at)
        if row.validated_value is not None:
            before[key] = StoredRead(row.read_at, row.validated_value, row.source == "ami")
        elif row.valid_at is not None:  # the last reading is held: the valid one before it is the reference
            before[key] = StoredRead(row.valid_at, row.valid_value, row.valid_source == "ami", held_through=row.read_at)
        if row.next_at is None:
            continue
        if row.next_at > ends[key]:
            after[key] = NextRead(StoredRead(row.next_at, row.next_value, row.next_source == "ami"), row.next_batch_id)
        else:
            overlapping.append(key)
    inside = {}
    if overlapping:
        serials, registers, starts = zip(*overlapping)
        for row in session.execute(_STORED_IN_BLOCKS, {
                "serials": list(serials), "registers": list(registers), "starts": list(starts),
                "ends": [ends[key] for key in overlapping], "lookback_days": lookback_days}):
            key = (row.serial, row.register, row.start_at)
            if row.after_block:
                after[key] = NextRead(StoredRead(row.read_at, row.value, row.source == "ami"), row.batch_id)
            else:
                inside.setdefault(key, {})[row.read_at] = (row.value, row.validated_value)
    return Neighbours(before, after, inside)


# Boundary findings a late batch may make obsolete (see services.recheck_after_late_block).
BOUNDARY_RULES = ("gap", "reverse_flow", "spike")

_BOUNDARY_FINDINGS = sa.text("""
    select exception_id, rule, read_at, status from read_exceptions
    where meter_serial = :serial and register = :register and rule = any(cast(:rules as text[]))
      and status in ('open', 'noted') and read_at >= :from_at and read_at <= :to_at
      and batch_id is not distinct from :batch_id
    order by exception_id
""")


def boundary_findings_of_batch(session: Session, serial: str, register: str, batch_id: str | None,
                               from_at: datetime, to_at: datetime) -> list:
    """Open or noted gap, reverse flow and spike findings a batch raised between two instants."""
    return session.execute(_BOUNDARY_FINDINGS, {"serial": serial, "register": register, "rules": list(BOUNDARY_RULES),
                                                "batch_id": batch_id, "from_at": from_at, "to_at": to_at}).all()


_READING_AT_OR_BEFORE = sa.text("""
    select read_at, validated_value as value from register_reads
    where meter_serial = :serial and register = :register and validated_value is not null
      and read_at <= :at and read_at >= :installed_at
    order by read_at desc limit 1
""")

_FIRST_READING_ABOVE = sa.text("""
    select read_at, validated_value as value from register_reads
    where meter_serial = :serial and register = :register and validated_value is not null and read_at > :after
      and validated_value > :above
    order by read_at limit 1
""")


def reading_at_or_before(session: Session, serial: str, register: str, at: datetime,
                         installed_at: datetime) -> StoredRead | None:
    """The latest validated reading of this installation at or before `at`."""
    row = session.execute(_READING_AT_OR_BEFORE, {"serial": serial, "register": register, "at": at,
                                                  "installed_at": installed_at}).first()
    return StoredRead(row.read_at, row.value) if row else None


def first_reading_above(session: Session, serial: str, register: str, after: datetime, above) -> StoredRead | None:
    """The first valid reading after `after` showing more than `above` on the register (a held one is no
    evidence for another rule)."""
    row = session.execute(_FIRST_READING_ABOVE, {"serial": serial, "register": register, "after": after,
                                                 "above": above}).first()
    return StoredRead(row.read_at, row.value) if row else None


def has_open_exception(session: Session, serial: str, register: str, rule: str) -> bool:
    return session.execute(sa.select(sa.exists().where(
        ReadException.meter_serial == serial, ReadException.register == register, ReadException.rule == rule,
        ReadException.status == "open"))).scalar()


_ACTUAL_READ_BETWEEN = sa.text("""
    select exists(select 1 from register_reads
                  where meter_serial = :serial and register = any(cast(:registers as text[]))
                    and read_at > :from_at and read_at <= :to_at and quality = 'actual')
""")


def has_actual_read_between(session: Session, serial: str, registers, from_at: datetime, to_at: datetime) -> bool:
    """An actual read after from_at, up to and at to_at: a day's reads by the read boundary rule (the read
    at the day's first instant ends the day before; the one at its end instant ends this day)."""
    return session.execute(_ACTUAL_READ_BETWEEN, {"serial": serial, "registers": list(registers),
                                                  "from_at": from_at, "to_at": to_at}).scalar()


_DROP_INTERPOLATIONS = sa.text("""
    delete from register_reads
    where meter_serial = :serial and register = :register and read_at > :after and read_at < :before
      and value is null and quality = 'estimated'
""")


def drop_interpolations_between(session: Session, serial: str, register: str, after: datetime,
                                before: datetime) -> None:
    """Remove readings VEE interpolated (raw null) strictly between two instants: a late batch brings
    better ones, or shows the gap cannot be interpolated."""
    session.execute(_DROP_INTERPOLATIONS, {"serial": serial, "register": register, "after": after, "before": before})


_SET_HELD_OR_RELEASED = sa.text("""
    update register_reads rr
    set validated_value = case when :hold then null else rr.value end,
        quality = case when :hold then 'suspect' else 'actual' end
    where rr.meter_serial = :serial and rr.register = :register and rr.read_at = :at
      and rr.quality in ('actual', 'suspect')
      and (:hold or not exists (
          select 1 from read_exceptions x where x.meter_serial = rr.meter_serial and x.register = rr.register
             and x.read_at = rr.read_at and x.status in ('open', 'reread_requested', 'meter_check_requested')))
""")


def hold_or_release_reading(session: Session, serial: str, register: str, at: datetime, hold: bool) -> None:
    """Hold a stored reading (a new finding), or release it when no unresolved exception holds it any more.
    A reading staff edited or estimated is left as they set it."""
    session.execute(_SET_HELD_OR_RELEASED, {"serial": serial, "register": register, "at": at, "hold": hold})


# For blocks whose use must be compared with history: the reference reading (zero consumption: the latest
# reading showing another value than the one the register stopped at, within zero_max_days: when it last
# moved; an inactive account: the reading at or before service ended), whether that rule already has an
# item for the meter (open, or for zero consumption raised after the register last moved: one worklist item
# per stopped register, not one a day or one after each one staff resolved), and the earliest reading in
# the history window (high/low use, and how long the meter usually takes to move a step).
_USAGE_HISTORY = sa.text("""
    select q.n, z.read_at as reference_at, z.value as reference_value,
           h.read_at as history_at, h.value as history_value,
           exists(select 1 from read_exceptions x where x.meter_serial = q.serial and x.register = q.register
                  and x.rule = q.reference_rule
                  and (x.status = 'open' or (q.unchanged is not null and x.read_at > coalesce(
                       z.read_at, q.reference_at - make_interval(days => :zero_max_days))))) as already_raised
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:reference_ats as timestamptz[]),
                cast(:reference_rules as text[]), cast(:history_befores as timestamptz[]),
                cast(:installed_ats as timestamptz[]), cast(:unchanged as numeric[]))
         with ordinality as q(serial, register, reference_at, reference_rule, history_before, installed_at,
                              unchanged, n)
    left join lateral (
        select rr.read_at, rr.validated_value as value from register_reads rr
        where q.reference_at is not null and rr.meter_serial = q.serial and rr.register = q.register
          and rr.validated_value is not null and rr.read_at <= q.reference_at and rr.read_at >= q.installed_at
          and (q.unchanged is null or (rr.validated_value <> q.unchanged
               and rr.read_at >= q.reference_at - make_interval(days => :zero_max_days)))
        order by rr.read_at desc limit 1
    ) z on true
    left join lateral (
        select rr.read_at, rr.validated_value as value from register_reads rr
        where q.history_before is not null and rr.meter_serial = q.serial and rr.register = q.register
          and rr.validated_value is not null and rr.read_at < q.history_before
          and rr.read_at >= greatest(q.history_before - make_interval(days => :history_days), q.installed_at)
        order by rr.read_at limit 1
    ) h on true
    order by q.n
""")


def usage_history(session: Session, wanted: list[tuple], history_days: int, zero_max_days: int = 35) -> list:
    """For (serial, register, reference_at, reference_rule, history_before, installed_at[, unchanged]) tuples,
    in order: (the reference StoredRead or None, the earliest StoredRead in the history window or None,
    whether reference_rule already has an item for the register; see _USAGE_HISTORY)."""
    if not wanted:
        return []
    wanted = [row if len(row) == 7 else (*row, None) for row in wanted]
    serials, registers, reference_ats, reference_rules, history_befores, installed_ats, unchanged = zip(*wanted)
    rows = session.execute(_USAGE_HISTORY, {
        "serials": list(serials), "registers": list(registers), "reference_ats": list(reference_ats),
        "reference_rules": list(reference_rules), "history_befores": list(history_befores),
        "installed_ats": list(installed_ats), "unchanged": list(unchanged), "history_days": history_days,
        "zero_max_days": zero_max_days})
    return [(StoredRead(row.reference_at, row.reference_value) if row.reference_at else None,
             StoredRead(row.history_at, row.history_value) if row.history_at else None, row.already_raised)
            for row in rows]


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
      and read_at >= cast(:start_at as timestamptz) - interval '1 day'
      -- At the end instant (the read boundary rule: the end read's), except a prolonged estimation item: it
      -- stands at the estimate that billed its own period, and holds the periods after.
      and (read_at < cast(:end_at as timestamptz)
           or (read_at = cast(:end_at as timestamptz) and rule <> 'prolonged_estimation'))
    group by meter_serial
""")


def unresolved_exceptions(session: Session, serials, start_at: datetime, end_at: datetime) -> dict:
    """{meter serial: (exception ids, rules)} for exceptions still open around a billing period."""
    rows = session.execute(_UNRESOLVED_EXCEPTIONS, {"serials": sorted(set(serials)), "start_at": start_at,
                                                    "end_at": end_at})
    return {row.meter_serial: (row.exception_ids, row.rules) for row in rows}


# Meters taken out of an account's connection inside the period (an exchange): their start read and
# their final read (the reading at removal, start of removed_on in District time).
_REMOVED_IN_PERIOD = sa.text(f"""
    select a.account_id, i.serial, m.multiplier, g.register,
           s.value as start_value, s.unit as start_unit, s.read_at as start_read_at, s.raw as start_raw,
           s.quality as start_quality, s.source as start_source,
           f.value as final_value, f.unit as final_unit, f.read_at as final_read_at, f.raw as final_raw,
           f.quality as final_quality, f.source as final_source
    from service_accounts a
    join installations i on i.connection_id = a.connection_id and i.removed_on is not null
    join meters m on m.serial = i.serial
    cross join lateral {_REGISTERS_OF_METER} as g(register)
    cross join lateral (select cast(i.removed_on as timestamp) at time zone 'America/Los_Angeles' as removed_at) r
    left join lateral (
        -- With billed ends (v3): the actual end the last bill ended at, else the read boundary rule.
        select * from (
            select b.value, b.unit, b.read_at, b.raw, b.quality, b.source, 0 as preference
            from billed_end_reads b
            where cast(:from_billed_ends as boolean) and b.meter_serial = i.serial and b.register = g.register
              and b.period_end_at = cast(:start_at as timestamptz) and b.estimate_id is null
            union all
            (select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source,
                    1 as preference
             from register_reads rr
             where rr.meter_serial = i.serial and rr.register = g.register and rr.validated_value is not null
               and rr.read_at >= i.installed_at
               and rr.read_at <= greatest(cast(:start_at as timestamptz), i.installed_at)
             order by rr.read_at desc limit 1)
        ) c order by preference limit 1
    ) s on true
    left join lateral (
        select rr.validated_value as value, rr.unit, rr.read_at, rr.value as raw, rr.quality, rr.source
        from register_reads rr
        where rr.meter_serial = i.serial and rr.register = g.register and rr.validated_value is not null
          and rr.read_at >= i.installed_at and rr.read_at <= r.removed_at
        order by rr.read_at desc limit 1
    ) f on true
    where a.account_id = any(cast(:account_ids as text[]))
      and r.removed_at > cast(:start_at as timestamptz) and r.removed_at < cast(:end_at as timestamptz)
    order by a.account_id, i.serial, g.register
""")


def removed_in_period(session: Session, account_ids: list[str], start_at: datetime, end_at: datetime,
                      from_billed_ends: bool = False):
    """Meters removed in the period, each register from its start (the billed end at start_at when
    from_billed_ends and there is one) to its final read."""
    if not account_ids:
        return []
    return session.execute(_REMOVED_IN_PERIOD, {"account_ids": account_ids, "start_at": start_at,
                                                "end_at": end_at, "from_billed_ends": from_billed_ends}).all()


# Each register of each bulk meter: the latest validated read at or before the month start and the
# latest at or before its end (the read boundary rule).
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
          and read_at <= cast(:end_at as timestamptz) order by read_at desc limit 1) e on true
    where m.delivers_to_agency is not null
    order by m.delivers_to_agency, m.serial, r.register
""")


def bulk_meter_reads(session: Session, start_at: datetime, end_at: datetime):
    return session.execute(_BULK_METER_READS, {"start_at": start_at, "end_at": end_at}).all()


def consumption_rows(session: Session, account_ids: list[str], start_at: datetime, end_at: datetime):
    return session.execute(_CONSUMPTION, {"account_ids": account_ids, "start_at": start_at, "end_at": end_at}).all()


def latest_reads_on_connection(session: Session, connection_id: str, limit: int):
    return session.execute(_ACCOUNT_READS, {"connection_id": connection_id, "limit": limit}).all()


# ---- billing-read estimation (cis_metering/domain/estimation.py): asked only for the few registers concerned

# Per meter register: the latest stored estimate at or before the period start (the next period starts
# from it) and the one made for this period's end (asked again: the same estimate).
_BILLING_ESTIMATES = sa.text("""
    select distinct on (meter_serial, register, read_at = cast(:end_at as timestamptz))
           estimate_id, meter_serial, register, read_at, value, unit, method, basis, consecutive,
           read_at = cast(:end_at as timestamptz) as for_this_period
    from billing_estimates
    where meter_serial = any(cast(:serials as text[]))
      and (read_at <= cast(:start_at as timestamptz) or read_at = cast(:end_at as timestamptz))
    order by meter_serial, register, read_at = cast(:end_at as timestamptz), read_at desc
""")


def billing_estimates(session: Session, serials, start_at: datetime, end_at: datetime) -> tuple[dict, dict]:
    """({(serial, register): latest estimate at or before start_at}, {(serial, register): estimate at end_at})."""
    previous, current = {}, {}
    if not serials:
        return previous, current
    for row in session.execute(_BILLING_ESTIMATES, {"serials": sorted(set(serials)), "start_at": start_at,
                                                    "end_at": end_at}):
        (current if row.for_this_period else previous)[(row.meter_serial, row.register)] = row
    return previous, current


# Per meter register: the end reading served to billing for the period ending at start_at (this period
# starts from it) and the one served for this period (asked again: the same end).
_BILLED_END_READS = sa.text("""
    select meter_serial, register, read_at, value, raw, unit, quality, source, estimate_id,
           period_end_at = cast(:end_at as timestamptz) as for_this_period
    from billed_end_reads
    where meter_serial = any(cast(:serials as text[]))
      and period_end_at in (cast(:start_at as timestamptz), cast(:end_at as timestamptz))
""")


def billed_end_reads(session: Session, serials, start_at: datetime, end_at: datetime) -> tuple[dict, dict]:
    """({(serial, register): end served for the period ending at start_at}, {(serial, register): end served
    for the period ending at end_at})."""
    opening, served = {}, {}
    if not serials:
        return opening, served
    for row in session.execute(_BILLED_END_READS, {"serials": sorted(set(serials)), "start_at": start_at,
                                                   "end_at": end_at}):
        (served if row.for_this_period else opening)[(row.meter_serial, row.register)] = row
    return opening, served


# One statement of arrays, not a row each: a bill run records 5,000 ends a call.
_RECORD_BILLED_END_READS = sa.text("""
    insert into billed_end_reads (meter_serial, register, read_at, value, raw, unit, quality, source, estimate_id,
                                  account_id, period_end_at, period_start, period_end, served_on)
    select e.*, cast(:period_end_at as timestamptz), cast(:period_start as date), cast(:period_end as date),
           cast(:served_on as date)
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:read_ats as timestamptz[]),
                cast(:values as numeric[]), cast(:raws as numeric[]), cast(:units as text[]),
                cast(:qualities as text[]), cast(:sources as text[]), cast(:estimate_ids as bigint[]),
                cast(:account_ids as text[])) as e
    on conflict on constraint billed_end_reads_one_per_period_end do nothing
""")


def record_billed_end_reads(session: Session, period: dict, ends: list[tuple]) -> None:
    """Store the end readings served for one period ({period_end_at, period_start, period_end, served_on}),
    each (serial, register, read_at, value, raw, unit, quality, source, estimate_id, account_id); one
    already stored for the same period end (asked again) stays."""
    if ends:
        columns = ("serials", "registers", "read_ats", "values", "raws", "units", "qualities", "sources",
                   "estimate_ids", "account_ids")
        session.execute(_RECORD_BILLED_END_READS, {**period, **dict(zip(columns, map(list, zip(*ends))))})


_PROLONGED_ESTIMATION_EXCEPTIONS = sa.text("""
    select cast(details->>'estimate_id' as bigint) as estimate_id, exception_id from read_exceptions
    where rule = 'prolonged_estimation' and cast(details->>'estimate_id' as bigint) = any(cast(:ids as bigint[]))
""")


def prolonged_estimation_exceptions(session: Session, estimate_ids: list[int]) -> dict[int, int]:
    """{estimate id: the prolonged estimation exception it raised}."""
    rows = session.execute(_PROLONGED_ESTIMATION_EXCEPTIONS, {"ids": estimate_ids})
    return {row.estimate_id: row.exception_id for row in rows}


_FIRST_VALIDATED_AFTER = sa.text("""
    select q.serial, q.register, f.read_at, f.value, f.unit
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:ats as timestamptz[]))
         as q(serial, register, at)
    join lateral (
        select rr.read_at, rr.validated_value as value, rr.unit from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.validated_value is not null
          and rr.read_at > q.at
        order by rr.read_at limit 1
    ) f on true
""")


def first_validated_after(session: Session, wanted: list[tuple[str, str, datetime]]) -> dict:
    """{(serial, register): the first validated read after the instant given for it}."""
    if not wanted:
        return {}
    serials, registers, ats = zip(*wanted)
    rows = session.execute(_FIRST_VALIDATED_AFTER, {"serials": list(serials), "registers": list(registers),
                                                    "ats": list(ats)})
    return {(row.serial, row.register): row for row in rows}


# For each register to estimate: the earliest validated read within the history window before its last
# actual read, and the validated reads bounding the same period a year earlier (this installation only).
_ESTIMATION_HISTORY = sa.text("""
    select q.serial, q.register,
           h.read_at as history_read_at, h.value as history_value,
           ls.read_at as last_year_start_at, ls.value as last_year_start_value,
           le.read_at as last_year_end_at, le.value as last_year_end_value
    from unnest(cast(:serials as text[]), cast(:registers as text[]), cast(:last_ats as timestamptz[]),
                cast(:installed_ats as timestamptz[])) as q(serial, register, last_at, installed_at)
    left join lateral (
        select rr.read_at, rr.validated_value as value from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.validated_value is not null
          and rr.read_at >= greatest(q.last_at - make_interval(days => :history_days), q.installed_at)
          and rr.read_at < q.last_at
        order by rr.read_at limit 1
    ) h on true
    left join lateral (
        select rr.read_at, rr.validated_value as value from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.validated_value is not null
          and rr.read_at >= q.installed_at and rr.read_at <= cast(:last_year_start as timestamptz)
        order by rr.read_at desc limit 1
    ) ls on true
    left join lateral (
        select rr.read_at, rr.validated_value as value from register_reads rr
        where rr.meter_serial = q.serial and rr.register = q.register and rr.validated_value is not null
          and rr.read_at >= q.installed_at and rr.read_at <= cast(:last_year_end as timestamptz)
        order by rr.read_at desc limit 1
    ) le on true
""")


def estimation_history(session: Session, wanted: list[tuple[str, str, datetime, datetime]], history_days: int,
                       last_year_start: datetime, last_year_end: datetime) -> dict:
    """{(serial, register): row} for (serial, register, last actual read_at, installed_at) tuples."""
    if not wanted:
        return {}
    serials, registers, last_ats, installed_ats = zip(*wanted)
    rows = session.execute(_ESTIMATION_HISTORY, {
        "serials": list(serials), "registers": list(registers), "last_ats": list(last_ats),
        "installed_ats": list(installed_ats), "history_days": history_days,
        "last_year_start": last_year_start, "last_year_end": last_year_end})
    return {(row.serial, row.register): row for row in rows}
