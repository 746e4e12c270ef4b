"""Metering use cases. Each runs in one unit of work: state and inbox record commit together."""
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from cis_metering.adapters import interval_store, repository
from cis_metering.adapters.interval_store import block_end
from cis_metering.adapters.models import (Installation, Meter, ReadException, ReadExceptionResolution, RegisterRead,
                                          ServiceAccount)
from cis_metering.domain.ceilings import RULE as CEILING_RULE, may_exceed, over_ceiling
from cis_metering.domain.determinants import (COMPOUND_REGISTERS, MeterOnAccount, RegisterPeriod,
                                              determinant_or_missing, worst_quality)
from cis_metering.domain.intervals import Reading, blocks_from_readings
from cis_metering.domain.model import (DISTRICT_ZONE, IN_STOCK, INSTALLED, REMOVED, UNITS_PER_HCF, Read,
                                       check_fits_register, check_installable, period_bounds, start_of_day, to_hcf)
from cis_metering.domain.vee import (DEFAULT_THRESHOLDS, Finding, StoredRead, VeeThresholds, block_hold,
                                     boundary_findings, check_usage, extend_with_previous, last_valid_reading,
                                     usage_checks_needed, usage_view, used_after_closing, validate_block,
                                     without_previous)
from cis_metering.service_layer import worklist
from cis_runtime.errors import Conflict, InvalidInput, NotFound

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
    try:
        install_meter_in_uow(uow, request)
        uow.commit()
    except IntegrityError:
        # One meter per connection at a time: exchange_meter removes the old one first.
        raise Conflict(f"connection {request['connection_id']} already has a meter installed "
                       f"(or meter {request['serial']} already has a read at "
                       f"{start_of_day(request['installed_on'])})") from None
    return dict(request)


def install_meter_in_uow(uow, request: dict) -> None:
    meter = uow.session.get(Meter, request["serial"], with_for_update=True)
    if meter is None:
        raise NotFound("meter", request["serial"])
    check_installable(meter.status, meter.serial)
    check_fits_register(request["initial_read"], meter.register_digits, "initial_read")
    installed_at = start_of_day(request["installed_on"])
    uow.session.add(Installation(serial=meter.serial, connection_id=request["connection_id"],
                                 installed_on=request["installed_on"], installed_at=installed_at))
    repository.ensure_partitions(uow.session.get_bind(), [installed_at])
    uow.session.add(RegisterRead(meter_serial=meter.serial, register="main", read_at=installed_at,
                                 value=request["initial_read"], validated_value=request["initial_read"],
                                 quality="actual", unit=meter.unit, source="install"))
    meter.status = INSTALLED
    uow.session.flush()


def exchange_meter(uow, request: dict) -> dict:
    """Close the old meter's register with its final read and open the new one's with its initial read,
    at the same instant, in one transaction; both installations stay in the history."""
    old = uow.session.get(Meter, request["old_serial"], with_for_update=True)
    if old is None:
        raise NotFound("meter", request["old_serial"])
    installation = uow.session.scalars(sa.select(Installation).where(
        Installation.serial == old.serial, Installation.removed_on.is_(None)).with_for_update()).first()
    if installation is None:
        raise Conflict(f"meter {old.serial} is not installed")
    exchanged_at = start_of_day(request["exchanged_on"])
    if exchanged_at < installation.installed_at:
        raise InvalidInput({"exchanged_on": ["Before the old meter was installed."]})
    check_fits_register(request["old_final_read"], old.register_digits, "old_final_read")
    repository.ensure_partitions(uow.session.get_bind(), [exchanged_at])
    _store_exchange_read(uow, old, exchanged_at, request["old_final_read"], "final")
    installation.removed_on = request["exchanged_on"]
    installation.removed_by, installation.removal_reason = request["exchanged_by"], request["reason"]
    old.status = REMOVED
    uow.session.flush()  # the connection is free before the new meter goes in
    if request["new_serial"]:
        try:
            install_meter_in_uow(uow, {"serial": request["new_serial"], "connection_id": installation.connection_id,
                                       "installed_on": request["exchanged_on"],
                                       "initial_read": request["new_initial_read"]})
        except IntegrityError:
            raise Conflict(f"meter {request['new_serial']} already has a read at {exchanged_at}") from None
    uow.commit()
    return {"connection_id": installation.connection_id, **{key: request[key] for key in (
        "old_serial", "old_final_read", "new_serial", "new_initial_read", "exchanged_on")}}


def _store_exchange_read(uow, meter, at, value, source: str) -> None:
    """The exchange's reading at `at`, unless the head-end's reading of that instant is stored (perhaps by a
    batch committing at this very moment: hence insert-or-nothing, then compare)."""
    uow.session.execute(insert(RegisterRead).values(
        meter_serial=meter.serial, register="main", read_at=at, value=value, validated_value=value,
        quality="actual", unit=meter.unit, source=source).on_conflict_do_nothing())
    stored = uow.session.get(RegisterRead, (meter.serial, "main", at), with_for_update=True, populate_existing=True)
    if stored.value != value:
        raise Conflict(f"meter {meter.serial} already has a reading of {stored.value} at {at.isoformat()}")


def record_account_closed(uow, payload: dict, limits: VeeThresholds = DEFAULT_THRESHOLDS) -> None:
    """Service on the account ended on closed_on: from then on, water used through its connection with
    no open account is raised as possible unauthorized use (VEE rule read_on_inactive_account) - also in
    readings stored before the closure was known. A final read requested with the closure is asked of
    the field (a reread_meter work order) unless an actual reading was taken on the closing day."""
    account = uow.session.get(ServiceAccount, payload["account_id"], with_for_update=True)
    uow.session.execute(sa.update(ServiceAccount).where(ServiceAccount.account_id == payload["account_id"])
                        .values(status="closed", closed_on=payload["closed_on"]))
    uow.session.flush()
    installation = None if account is None else uow.session.scalars(sa.select(Installation).where(
        Installation.connection_id == account.connection_id, Installation.removed_on.is_(None))).first()
    if installation is not None:
        meter = uow.session.get(Meter, installation.serial)
        _recheck_reads_after_closing(uow, meter, installation, limits)
        if payload["final_read_requested"]:
            _request_final_read(uow, meter, account, payload["closed_on"])
    uow.commit()


def _recheck_reads_after_closing(uow, meter, installation, limits: VeeThresholds) -> None:
    """Readings stored after the closing day before the closure was known: the first one showing water
    used since the reading at closing is raised as read_on_inactive_account (once per register)."""
    facts = repository.meter_facts(uow.session, [meter.serial])[meter.serial]
    if facts.account_open or facts.closed_at is None:
        return  # another account takes water through the connection: its use is billed
    rows = []
    for register in registers_of(meter.meter_type):
        at_closing = repository.reading_at_or_before(uow.session, meter.serial, register, facts.closed_at,
                                                     installation.installed_at)
        if at_closing is None:
            continue
        tolerance = limits.reverse_flow_tolerance_hcf * UNITS_PER_HCF[meter.unit]
        first_after = repository.first_reading_above(uow.session, meter.serial, register, facts.closed_at,
                                                     at_closing.value + tolerance)
        if first_after is None:
            continue
        finding = used_after_closing(facts.closed_at, at_closing, first_after, meter.unit, limits)
        if finding is not None and not repository.has_open_exception(uow.session, meter.serial, register,
                                                                     finding.rule):
            rows.append(exception_row(None, {"meter_serial": meter.serial, "register": register, "unit": meter.unit,
                                             "interval_start": first_after.read_at, "interval_seconds": 3600,
                                             "values": [str(first_after.value)]},
                                      Finding(finding.rule, 0, finding.reason, finding.details)))
    repository.insert_exception_rows(uow.session, rows)


def _request_final_read(uow, meter, account, closed_on) -> None:
    """A final read for the closing bill: one work order per meter, held as a final_read exception (waiting
    for the field) that holds the account's determinants until staff accept it with the read entered."""
    day_starts, day_ends = start_of_day(closed_on), start_of_day(closed_on + timedelta(days=1))
    registers = registers_of(meter.meter_type)
    if repository.has_actual_read_between(uow.session, meter.serial, registers, day_starts, day_ends):
        return
    item = ReadException(
        # At the end instant of the closing day: where the closing bill's period ends (the read boundary rule).
        batch_id=None, meter_serial=meter.serial, register=registers[0], read_at=day_ends, value=None,
        unit=meter.unit, rule="final_read",
        reason=f"final read requested for the closing of account {account.account_id} on {closed_on.isoformat()}",
        details={"account_id": account.account_id, "closed_on": closed_on.isoformat(), "holds": True},
        resolved=False, status="reread_requested")
    uow.session.add(item)
    uow.session.flush()
    worklist.request_field_work(uow, item, {"action": "request_reread", "resolved_by": "metering",
                                            "reason": item.reason}, account_id=account.account_id)


def registers_of(meter_type: str) -> tuple[str, ...]:
    return COMPOUND_REGISTERS if meter_type == "compound" else ("main",)


def record_account_opened(uow, payload: dict) -> None:
    """Remember which connection the account takes water through (the caller recorded the inbox)."""
    uow.session.execute(insert(ServiceAccount).values(
        account_id=payload["account_id"], connection_id=payload["connection_id"], status="open",
        opened_on=payload["opened_on"], service_address=_one_line(payload.get("service_address")),
        apn=payload.get("apn"), customer_class=payload.get("customer_class"),
        dwelling_units=payload.get("dwelling_units")).on_conflict_do_nothing())
    uow.commit()


def _one_line(address: dict | None) -> str | None:
    if not address:
        return None
    street = ", ".join(part for part in (address.get("line1"), address.get("line2")) if part)
    return f"{street}, {address.get('city')}, {address.get('state')} {address.get('zip')}"


def ingest_ami_batch(uow, message_id: str, batch: dict, limits: VeeThresholds = DEFAULT_THRESHOLDS) -> None:
    """Store a head-end batch of register reads once, through the VEE and storage of interval blocks
    (store_blocks): each meter's reads become blocks (register_read_rounds). Reads that cannot be accepted
    are held as read exceptions with the reason (never dropped). The caller recorded the message in the inbox."""
    batch_id, reads = batch["batch_id"], batch["reads"]
    if not repository.record_batch(uow.session, batch_id, batch["head_end"], message_id, len(reads)):
        uow.commit()  # a head-end re-publishing a batch it already sent: keep only the inbox record
        return
    meters = repository.meters_with_installation(uow.session, [r["meter_serial"] for r in reads])
    accepted, held = [], []
    for read in reads:
        reason = _hold_reason(read, meters.get(read["meter_serial"]))
        if reason:
            held.append((read, reason))
        else:
            accepted.append(read)
    rounds, conflicting = register_read_rounds(accepted)
    held += [(accepted[index], ("conflicting_duplicate", reason)) for index, reason in conflicting]
    # Every month's partition before the first round writes: creating one later, from another connection,
    # would wait on this transaction's own lock on register_reads.
    repository.ensure_partitions(uow.session.get_bind(), [read["read_at"] for read in accepted])
    repository.insert_read_exceptions(uow.session, batch_id, held)
    stored, raised = 0, 0
    for blocks in rounds:
        round_stored, round_raised = store_blocks(uow, batch_id, blocks, limits)
        stored, raised = stored + round_stored, raised + round_raised
    repository.set_batch_counts(uow.session, batch_id, stored, len(held) + raised)
    uow.commit()


# A meter's register reads a day apart, unless the batch shows another spacing (hourly reads).
REGISTER_READ_SPACING = 86400


def register_read_rounds(reads: list[dict]) -> tuple[list[list[dict]], list[tuple[int, str]]]:
    """(blocks to store round by round, conflicting (index in `reads`, reason)). A meter register's reads on
    one grid (the batch's most common spacing, a day at most) form one block, gaps included, as a reads
    file's rows do (blocks_from_readings); a read off it starts another block, stored in a later round, so
    it is checked against the readings before it in the batch, not only against those stored earlier.
    Each block is in the read's own unit (one in another unit than the register's is held, unit_mismatch)."""
    spacing = _spacing_by_meter(reads)
    blocks, conflicting = [], []
    for segment in _segments(reads, spacing):
        segment_blocks, segment_conflicts = blocks_from_readings([
            Reading(index, read["meter_serial"], "main", read["read_at"], format(read["value"], "f"), read["unit"],
                    spacing[read["meter_serial"]]) for index, read in segment])
        blocks += [{**block, "register_reads": True} for block in segment_blocks]
        conflicting += segment_conflicts
    rounds, seen = [], {}
    for block in blocks:  # in time order within each meter register
        series = (block["meter_serial"], block["register"])
        position = seen[series] = seen.get(series, -1) + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(block)
    return rounds, [(index, f"conflicts with another read in the batch: {reason.split(': ', 1)[-1]}")
                    for index, reason in conflicting]


def _segments(reads: list[dict], spacing: dict[str, int]) -> list[list[tuple[int, dict]]]:
    """The reads cut where a meter's next read is more than its spacing after the one before: a register
    read is cumulative, so monthly reads in one batch are consecutive readings, not a daily grid with
    its days missing (which would be a gap exception on every monthly read). Segment k of every meter
    together, in time order."""
    by_meter: dict[str, list[tuple[int, dict]]] = {}
    for index, read in enumerate(reads):
        by_meter.setdefault(read["meter_serial"], []).append((index, read))
    segments: list[list[tuple[int, dict]]] = []
    for serial, indexed in by_meter.items():
        indexed.sort(key=lambda pair: pair[1]["read_at"])
        number, previous_at = 0, None
        for index, read in indexed:
            if previous_at is not None and (read["read_at"] - previous_at).total_seconds() > spacing[serial]:
                number += 1
            previous_at = read["read_at"]
            while len(segments) <= number:
                segments.append([])
            segments[number].append((index, read))
    return segments


def _spacing_by_meter(reads: list[dict]) -> dict[str, int]:
    instants = {}
    for read in reads:
        instants.setdefault(read["meter_serial"], set()).add(read["read_at"])
    spacing = {}
    for serial, moments in instants.items():
        ordered = sorted(moments)
        steps = Counter(int((b - a).total_seconds()) for a, b in zip(ordered, ordered[1:]))
        steps = [(count, -seconds) for seconds, count in steps.items() if 0 < seconds <= REGISTER_READ_SPACING]
        spacing[serial] = -max(steps)[1] if steps else REGISTER_READ_SPACING
    return spacing


def ingest_interval_batch(uow, message_id: str, batch: dict, limits: VeeThresholds = DEFAULT_THRESHOLDS) -> None:
    """Validate a head-end batch of interval blocks block by block and store its readings with COPY;
    readings VEE holds are stored raw (not validated) with a read exception saying why; blocks of
    unknown or uninstalled meters are held whole as exceptions. A batch_id is stored once."""
    blocks = batch["blocks"]
    reading_count = sum(len(block["values"]) for block in blocks)
    if not repository.record_batch(uow.session, batch["batch_id"], batch["head_end"], message_id, reading_count):
        uow.commit()  # a re-published batch: keep only the inbox record
        return
    store_blocks(uow, batch["batch_id"], blocks, limits)
    uow.commit()


def store_blocks(uow, batch_id: str, blocks: list[dict], limits: VeeThresholds = DEFAULT_THRESHOLDS) -> tuple[int, int]:
    """VEE and storage shared by every ingestion path (AMQP, files); the caller commits.
    Returns (readings stored, exceptions raised)."""
    if not blocks:
        return 0, 0
    repository.ensure_partitions(uow.session.get_bind(), _instants_to_partition(blocks))
    meters = repository.meter_facts(uow.session, [block["meter_serial"] for block in blocks])
    staged, exceptions, usage = [], [], []
    accepted = []
    for block in blocks:
        meter = meters.get(block["meter_serial"])
        held = block_hold(block, meter)
        if held:
            exceptions.append(exception_row(batch_id, block, held))
        else:
            accepted.append((block, meter))
    around = repository.neighbour_reads(uow.session, [block for block, _ in accepted],
                                        limits.previous_read_lookback_days)
    for block, meter in accepted:
        key = (block["meter_serial"], block["register"], block["interval_start"])
        after, stored_inside = around.after.get(key), around.inside.get(key)
        if stored_inside:
            block, validated, findings, seen = validate_overlapping(block, meter, around.before.get(key),
                                                                    stored_inside, limits)
        else:
            block, validated, findings, seen = validate_across_boundary(block, meter, around.before.get(key), limits)
        over = _ceiling_finding(uow, block, validated, meter, around.before.get(key), limits)
        if over is not None:
            validated[over.index] = None
            findings.append(over)
        staged.append((block, validated))
        exceptions += [exception_row(batch_id, block, finding) for finding in findings]
        seen = usage_view(seen, validated, around.before.get(key))
        need = usage_checks_needed(seen, meter, limits)
        if need:
            usage.append((block, seen, meter, need))
        if after is not None:
            exceptions += _recheck_after_late_block(uow, batch_id, block, validated, around.before.get(key), meter,
                                                    after, staged, limits)
    exceptions += _usage_findings(uow, batch_id, usage, limits)
    stored = 0
    if staged:
        interval_store.stage_blocks(uow.session, staged)
        stored, met_stored_readings = interval_store.expand_staged(uow.session, batch_id)
        if met_stored_readings:
            exceptions += [_conflict_row(batch_id, row) for row in interval_store.conflicting_duplicates(uow.session)]
    repository.insert_exception_rows(uow.session, exceptions)
    repository.set_batch_counts(uow.session, batch_id, stored, len(exceptions))
    emit_alerts(uow, [row for row in exceptions if row["rule"] in ALERT_KINDS])
    return stored, len(exceptions)


def _ceiling_finding(uow, block: dict, validated: list, meter, before, limits: VeeThresholds) -> Finding | None:
    """The absolute consumption ceiling (domain/ceilings.py) on the block's last valid reading, from the valid
    reading before the block (else the block's first): cheap for every block, history looked up only when
    the use is over it (too little history: held)."""
    if meter.ceiling is None:
        return None
    last = len(validated) - 1
    while last >= 0 and validated[last] is None:
        last -= 1
    if last < 0:
        return None
    start, seconds = block["interval_start"], block["interval_seconds"]
    if before is not None:
        elapsed = (start - before.read_at).total_seconds() + seconds * last
        if not may_exceed(meter.ceiling, float(before.value), float(validated[last]), elapsed):
            return None
        previous_at, previous_value = before.read_at, before.value
    else:
        first = next(i for i, value in enumerate(validated) if value is not None)
        if first == last or not may_exceed(meter.ceiling, float(validated[first]), float(validated[last]),
                                           seconds * (last - first)):
            return None
        previous_at, previous_value = start + timedelta(seconds=seconds * first), Decimal(validated[first])
    return ceiling_finding_without_history(
        uow, block["meter_serial"], block["register"], meter, previous_at, previous_value,
        start + timedelta(seconds=seconds * last), Decimal(validated[last]), block["unit"], last, limits)


def ceiling_finding_without_history(uow, serial: str, register: str, meter, previous_at, previous_value, read_at,
                                    value, unit: str, index: int, limits: VeeThresholds) -> Finding | None:
    """A consumption_ceiling finding when the use is over a ceiling and the meter lacks the history
    (usage_min_history_days before the previous reading) the high-use rule would judge it by."""
    over = over_ceiling(meter.ceiling, previous_at, previous_value, read_at, value, unit)
    if over is None:
        return None
    [(_, history_from, _)] = repository.usage_history(
        uow.session, [(serial, register, None, None, previous_at, meter.installed_at)], limits.usage_history_days)
    if history_from is not None and (previous_at - history_from.read_at) >= timedelta(
            days=limits.usage_min_history_days):
        return None  # the high-use rule compares it with the meter's own history
    reason, details = over
    return Finding(CEILING_RULE, index, reason, details)


# A block longer than this may span a whole month between its first and last readings.
_SHORTER_THAN_A_MONTH = 28 * 86400


def _instants_to_partition(blocks: list[dict]) -> set:
    """An instant in every month a block's readings fall in: its ends, and for a block of daily reads over
    months the months between (each month is its own partition of register_reads)."""
    instants = {block["interval_start"] for block in blocks} | {block_end(block) for block in blocks}
    for block in blocks:
        if block["interval_seconds"] * len(block["values"]) > _SHORTER_THAN_A_MONTH:
            instants.update(block["interval_start"] + timedelta(days=days)
                            for days in range(28, (block_end(block) - block["interval_start"]).days, 28))
    return instants


def validate_across_boundary(block: dict, meter, before, limits: VeeThresholds = DEFAULT_THRESHOLDS):
    """VEE of a block as if the meter's last stored reading before it were part of it, so that a batch
    boundary is checked like the middle of a block. Returns (block to store - which may now begin with
    interpolated intervals between the stored reading and it -, validated readings, findings, and the
    readings the checks saw, stored reading included)."""
    extended = extend_with_previous(block, before, limits)
    if extended is not None:
        validated, findings = validate_block(extended, meter, limits)
        block, validated, findings = without_previous(extended, validated, findings)
        return block, validated, findings, extended
    if before is None:
        validated, findings = validate_block(block, meter, limits)
        return block, validated, findings, block
    validated, findings = validate_block(dict(block, reference=before), meter, limits)
    return block, validated, boundary_findings(block, before, limits) + findings, block


def validate_overlapping(block: dict, meter, before, stored_inside: dict, limits: VeeThresholds = DEFAULT_THRESHOLDS):
    """VEE of a block some of whose instants are stored already (a re-sent or overlapping batch). The stored
    reading stays at each of them (another value is a conflicting duplicate, held at storage), so the rules
    compare with it - its validated value, or nothing when it is held - never with the block's other value,
    and raise nothing about it again. Returns what validate_across_boundary does, with the block's own raw
    readings to store (so conflicts are found)."""
    start, seconds = block["interval_start"], block["interval_seconds"]
    view, held, stored_indexes = list(block["values"]), set(), []
    for index in range(len(view)):
        at = start + timedelta(seconds=seconds * index)
        if at in stored_inside:
            stored_indexes.append(index)
            validated_value = stored_inside[at][1]
            if validated_value is None:
                view[index] = None
                held.add(index)
            else:
                view[index] = str(validated_value)
    checked, validated, findings, seen = validate_across_boundary(dict(block, values=view, held_elsewhere=held),
                                                                  meter, before, limits)
    offset = len(checked["values"]) - len(block["values"])  # interpolated intervals put in front
    raw = list(checked["values"])
    for index in stored_indexes:
        raw[offset + index] = block["values"][index]
    stored_at = {offset + index for index in stored_indexes}
    checked = {key: value for key, value in checked.items() if key != "held_elsewhere"}
    return (dict(checked, values=raw), validated,
            [finding for finding in findings if finding.index not in stored_at], seen)


def recheck_after_late_block(block: dict, validated: list, meter, after: StoredRead,
                             limits: VeeThresholds = DEFAULT_THRESHOLDS, before: StoredRead | None = None):
    """A late block arrived before a reading already stored (`after`): that reading is checked again with
    the block's last valid reading in front (a held one is never a reference; with none, the valid reading
    before the block, `before`), as it would have been had the batches come in order. Returns (the
    intervals missing between them with the stored reading last, validated, findings) or None when there
    is nothing to check (no reading in the block, nothing valid before it, or a stored install or manual
    reading)."""
    reference = last_valid_reading(block, validated, before)
    if reference is None or not after.interval_data:
        return None
    stored = dict(block, interval_start=after.read_at, values=[str(after.value)], flags=[])
    rechecked, validated, findings, _ = validate_across_boundary(stored, meter, reference, limits)
    return rechecked, validated, findings


def _recheck_after_late_block(uow, batch_id, block, block_validated, before, meter, after, staged: list,
                              limits) -> list[dict]:
    """Store what checking the reading after a late block again found: the intervals between them are
    interpolated (or their interpolation from an older reading replaced), the gap, reverse flow and spike
    findings the reading's own batch raised across the boundary give way to the new ones (superseded,
    audited), and the reading is held or released accordingly."""
    rechecked = recheck_after_late_block(block, block_validated, meter, after.read, limits, before)
    if rechecked is None:
        return []
    stored_block, validated, findings = rechecked
    # Interpolations stored from an older reading before the late block: replaced by what is staged now.
    repository.drop_interpolations_between(uow.session, block["meter_serial"], block["register"],
                                           block["interval_start"], after.read.read_at)
    if len(validated) > 1:
        staged.append((dict(stored_block, values=stored_block["values"][:-1]), validated[:-1]))
    found = {(finding.rule, exception_row(batch_id, stored_block, finding)["read_at"]): finding for finding in findings}
    for old in repository.boundary_findings_of_batch(uow.session, block["meter_serial"], block["register"],
                                                     after.batch_id, block["interval_start"], after.read.read_at):
        if found.pop((old.rule, old.read_at), None) is None:
            _supersede(uow, old.exception_id, old.status, batch_id)
    uow.session.flush()
    hold = any(finding.holds and finding.index == len(validated) - 1 for finding in found.values())
    repository.hold_or_release_reading(uow.session, block["meter_serial"], block["register"], after.read.read_at,
                                       hold)
    return [exception_row(batch_id, stored_block, finding) for finding in found.values()]


def _supersede(uow, exception_id: int, status: str, batch_id: str) -> None:
    uow.session.execute(sa.update(ReadException).where(ReadException.exception_id == exception_id)
                        .values(status="superseded", resolved=True))
    uow.session.add(ReadExceptionResolution(
        exception_id=exception_id, action="superseded", resolved_by="metering", resolved_on=uow.today(),
        reason=f"batch {batch_id} arrived late with the readings before this one: checked again against them",
        old_status=status, new_status="superseded"))


def _usage_findings(uow, batch_id, usage: list, limits: VeeThresholds) -> list[dict]:
    """Zero consumption and high/low use, for the few blocks whose use calls for a look at history."""
    history = repository.usage_history(uow.session, [
        (block["meter_serial"], block["register"], need.reference_at, need.reference_rule, need.history_before,
         meter.installed_at, need.unchanged) for block, _, meter, need in usage], limits.usage_history_days,
        limits.zero_consumption_max_days)
    rows = []
    for (block, seen, meter, need), (reference, history_from, already_raised) in zip(usage, history):
        for finding in check_usage(seen, meter, reference, history_from, limits, already_raised):
            # `seen` may start with the stored reading: count the index from the stored block's end.
            index = len(block["values"]) - (len(seen["values"]) - finding.index)
            rows.append(exception_row(batch_id, block, Finding(finding.rule, index, finding.reason, finding.details,
                                                               finding.holds)))
    return rows


# Findings that someone should act on before the next bill: operations reads these alerts.
ALERT_KINDS = {"continuous_flow": "leak", "reverse_flow": "backflow"}


def emit_alerts(uow, rows: list[dict]) -> None:
    if not rows:
        return
    where = repository.connections_of_meters(uow.session, {row["meter_serial"] for row in rows})
    today = uow.today()
    uow.emit_many("metering.consumption_alert.v1", [{
        "alert_id": f"{ALERT_KINDS[row['rule']]}-{row['meter_serial']}-{row['register']}-{row['read_at'].isoformat()}",
        "kind": ALERT_KINDS[row["rule"]], "meter_serial": row["meter_serial"], "register": row["register"],
        "detected_at": row["read_at"], "rule": row["rule"], "reason": row["reason"],
        "connection_id": where.get(row["meter_serial"], (None, None))[0],
        "account_id": where.get(row["meter_serial"], (None, None))[1], "detected_on": today} for row in rows])


def exception_row(batch_id: str, block: dict, finding: Finding) -> dict:
    if finding.index is None:  # the whole block: keep all its readings so nothing is lost
        read_at, value = block["interval_start"], None
        details = {**finding.details, "interval_seconds": block["interval_seconds"], "values": block["values"]}
    else:
        read_at = block["interval_start"] + timedelta(seconds=block["interval_seconds"] * finding.index)
        value, details = block["values"][finding.index], finding.details
    return {"batch_id": batch_id, "meter_serial": block["meter_serial"], "register": block["register"],
            "read_at": read_at, "value": value, "unit": block["unit"], "rule": finding.rule,
            "reason": finding.reason, "details": {**details, "holds": finding.holds},
            "resolved": not finding.holds, "status": "open" if finding.holds else "noted"}


def _conflict_row(batch_id: str, row) -> dict:
    return {"batch_id": batch_id, "meter_serial": row.meter_serial, "register": row.register,
            "read_at": row.read_at, "value": row.raw, "unit": row.unit, "rule": "conflicting_duplicate",
            "reason": f"a reading of {row.stored_value} is already stored for this instant",
            "details": {"stored": str(row.stored_value), "received": str(row.raw), "holds": True},
            "resolved": False, "status": "open"}


def _hold_reason(read: dict, meter) -> tuple[str, str] | None:
    """(rule, reason) when a register read cannot be accepted, else None."""
    if meter is None:
        return "unknown_meter", "unknown meter"
    _status, installed_at = meter
    if installed_at is None:  # a read from a meter in stock: possible theft or a mis-keyed serial
        return "meter_not_installed", "meter not installed"
    if read["read_at"] < installed_at:
        return "read_before_installation", "read before the meter was installed"
    return None


def get_consumption(uow, request: dict) -> dict:
    start_at, end_at = period_bounds(request["period_start"], request["period_end"])
    determinants, missing = [], []
    for rows in rows_by_account(repository.consumption_rows(uow.session, request["account_ids"], start_at, end_at)):
        determinant, gap = determinant_or_missing(_meter_on_account(rows), end_at)
        if determinant:
            determinants.append(determinant)
        else:
            missing.append(gap)
    return {"determinants": determinants, "missing": missing}


def get_determinants(uow, request: dict) -> dict:
    """v2: like get_consumption, plus each determinant's quality and source reads, and accounts whose
    meter has unresolved read exceptions in the period held back (reported, not billed silently)."""
    start_at, end_at = period_bounds(request["period_start"], request["period_end"])
    found = rows_by_account(repository.consumption_rows(uow.session, request["account_ids"], start_at, end_at))
    unresolved = repository.unresolved_exceptions(uow.session, [rows[0].serial for rows in found if rows[0].serial],
                                                  start_at, end_at)
    determinants, held, missing = [], [], []
    for rows in found:
        row = rows[0]
        if row.serial in unresolved:
            exception_ids, rules = unresolved[row.serial]
            held.append({"account_id": row.account_id, "meter_serial": row.serial, "exception_ids": exception_ids,
                         "reason": f"{len(exception_ids)} unresolved read exception(s) in the period: {rules}"})
            continue
        determinant, gap = determinant_or_missing(_meter_on_account(rows), end_at)
        if gap:
            missing.append(gap)
            continue
        source_reads = [source_read(register_row, which) for register_row in rows for which in ("start", "end")]
        determinant.update(quality=worst_quality(*(read["quality"] for read in source_reads)),
                           source_reads=source_reads)
        determinants.append(determinant)
    add_meters_removed_in_period(uow, determinants, start_at, end_at)
    return {"determinants": determinants, "held": held, "missing": missing}


def rows_by_account(rows) -> list[list]:
    """The query's rows (one per account and register, ordered by account) grouped per account."""
    grouped: list[list] = []
    for row in rows:
        if grouped and grouped[-1][0].account_id == row.account_id:
            grouped[-1].append(row)
        else:
            grouped.append([row])
    return grouped


def add_meters_removed_in_period(uow, determinants: list[dict], start_at, end_at,
                                 from_billed_ends: bool = False) -> None:
    """An exchange inside the period: the old meter's use up to its final read is added, so nothing
    is lost between its register closing and the new one opening (from where its last bill ended,
    with from_billed_ends: determinants v3)."""
    by_account = {d["account_id"]: d for d in determinants}
    for row in repository.removed_in_period(uow.session, list(by_account), start_at, end_at, from_billed_ends):
        if row.start_read_at is None or row.final_read_at is None or row.final_read_at <= row.start_read_at:
            continue
        determinant = by_account[row.account_id]
        start, final = source_read(row, "start"), source_read(row, "final")
        advance = to_hcf(row.final_value, row.final_unit) - to_hcf(row.start_value, row.start_unit)
        determinant["consumption"] += advance if row.multiplier == 1 else advance * row.multiplier
        determinant["source_reads"] = [start, final] + determinant["source_reads"]
        determinant["quality"] = worst_quality(determinant["quality"], start["quality"], final["quality"])


def source_read(row, which: str) -> dict:
    return {"read_at": getattr(row, f"{which}_read_at").astimezone(DISTRICT_ZONE),
            "value": getattr(row, f"{which}_raw"), "validated_value": getattr(row, f"{which}_value"),
            "unit": getattr(row, f"{which}_unit"), "quality": getattr(row, f"{which}_quality"),
            "source": getattr(row, f"{which}_source"), "register": row.register}


def _meter_on_account(rows) -> MeterOnAccount:
    registers = []
    for row in rows:
        registers.append(RegisterPeriod(
            row.register, Read(row.start_value, row.start_unit, row.start_read_at) if row.start_read_at else None,
            Read(row.end_value, row.end_unit, row.end_read_at) if row.end_read_at else None))
    row = rows[0]
    return MeterOnAccount(
        account_id=row.account_id, known_account=row.known_account, meter_serial=row.serial,
        meter_size=row.size, installed_at=row.installed_at,
        multiplier=row.multiplier if row.multiplier is not None else Decimal(1), registers=tuple(registers),
        register_digits=row.register_digits)


def account_meter_reads(uow, account_id: str) -> dict:
    account = uow.session.get(ServiceAccount, account_id)
    if account is None:
        raise NotFound("account", account_id)
    meters = uow.session.execute(
        sa.select(Installation.serial, Meter.size, Installation.connection_id, Installation.installed_on,
                  Installation.removed_on)
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
