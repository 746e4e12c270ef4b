"""Determinants v3 (metering.billing_determinants): v2 plus billing-read estimation and true-ups.

Per account and register the period runs from its start - the latest actual read at or before the
period start, or a stored billing estimate made after it - to its end: the latest actual read at or
before the period end (the read boundary rule, domain/model.period_bounds), or, when none came after
the start (or the latest is stale: more than policy.stale_end_read_days before the period end) and
billing asked for estimation, an estimate at the period's end instant (domain/estimation.py) stored in
billing_estimates. A period starting from an estimate
and closed by an actual read starts instead from the true value at the estimate's instant, and
carries the true-up (actual - estimated). The rules are in the domain; this module gathers the reads.

Asked by the bill run (estimate_missing_reads), the end reading served for each register is recorded
(billed_end_reads) with any estimate, in one transaction: asked again for the same period (a restarted
run), the same end is served, and the period starting at that end instant starts from it, not from a
read that arrived after the bill run. So billed periods tile: their sum is the last end served minus
the first start, whatever arrives late.
"""
from dataclasses import dataclass, field
from datetime import timedelta, timezone

from cis_metering.adapters import repository
from cis_metering.adapters.models import BillingEstimate, ReadException
from cis_metering.domain.determinants import (MeterOnAccount, RegisterPeriod, determinant_or_missing,
                                              end_netting_reverse_flow, worst_quality)
from cis_metering.domain.estimation import (DEFAULT_POLICY, EstimationPolicy, estimate_end_read, last_year_bounds,
                                            true_value_at)
from cis_metering.domain.model import DISTRICT_ZONE, Read, difference_modulo, period_bounds, to_hcf
from cis_metering.service_layer import services, worklist


@dataclass
class _Register:
    """One register of one account's meter while its period is worked out."""
    row: object
    actual_start: Read | None  # the latest actual read at or before the period start
    actual_end: Read | None  # the latest actual read at or before the period end
    start: Read | None = None  # where the period starts and ends for billing
    end: Read | None = None
    start_source: dict | None = None
    end_source: dict | None = None
    previous_estimate: object = None  # the stored estimate the period starts from, if any
    estimate: dict | None = None
    true_up: dict | None = None
    to_estimate: bool = False
    settles_estimate: bool = False  # its start is a true-up: it does not make the determinant estimated
    stale_end: bool = False  # its end read is older than the policy allows: estimated from it
    notes: list = field(default_factory=list)


def get_billing_determinants(uow, request: dict, policy: EstimationPolicy = DEFAULT_POLICY) -> dict:
    start_at, end_at = period_bounds(request["period_start"], request["period_end"])
    found = services.rows_by_account(repository.consumption_rows(uow.session, request["account_ids"],
                                                                  start_at, end_at))
    serials = [rows[0].serial for rows in found if rows[0].serial]
    unresolved = repository.unresolved_exceptions(uow.session, serials, start_at, end_at)
    previous, current = repository.billing_estimates(uow.session, serials, start_at, end_at)
    opening, served = repository.billed_end_reads(uow.session, serials, start_at, end_at)
    accounts = []
    # In UTC: compared with every end read's instant, and a fixed offset compares faster than a zone's.
    stale_before = None if policy.stale_end_read_days is None else (
        end_at - timedelta(days=policy.stale_end_read_days)).astimezone(timezone.utc)
    for rows in found:
        registers = [] if rows[0].serial in unresolved else [
            _register(row, previous, current, opening, served, request["estimate_missing_reads"], stale_before)
            for row in rows]
        accounts.append((rows, registers))
    _prolonged_ids(uow, [r.estimate for _, registers in accounts for r in registers if r.estimate])
    _true_ups(uow, [r for _, registers in accounts for r in registers if r.true_up is not None])
    _estimates(uow, request, policy, start_at, end_at,
               [(rows[0], r) for rows, registers in accounts for r in registers if r.to_estimate])
    determinants, held, missing, billed = [], [], [], []
    for rows, registers in accounts:
        row = rows[0]
        if row.serial in unresolved:
            exception_ids, rules = unresolved[row.serial]
            held.append({"account_id": row.account_id, "meter_serial": row.serial, "exception_ids": exception_ids,
                         "reason": f"{len(exception_ids)} unresolved read exception(s) in the period: {rules}"})
            continue
        _net_reverse_flows(row, registers)
        determinant, gap = _determinant(rows, registers, end_at)
        if gap:
            missing.append(gap)
        else:
            determinants.append(determinant)
            billed.extend((row, r) for r in registers if (row.serial, r.row.register) not in served)
    services.add_meters_removed_in_period(uow, determinants, start_at, end_at, from_billed_ends=True)
    if request["estimate_missing_reads"]:  # the bill run: its ends are fixed, with the estimates made
        repository.record_billed_end_reads(
            uow.session, {"period_end_at": end_at, "period_start": request["period_start"],
                          "period_end": request["period_end"], "served_on": uow.today()},
            [_billed_end(row, r) for row, r in billed])
    uow.commit()
    return {"determinants": determinants, "held": held, "missing": missing}


def _register(row, previous: dict, current: dict, opening: dict, served: dict, estimate_missing: bool,
              stale_before) -> _Register:
    work = _bounds(row, previous, current, opening.get((row.serial, row.register)), estimate_missing, stale_before)
    served_before = served.get((row.serial, row.register))
    if served_before is not None:  # asked again (a restarted bill run): the end it was served
        if served_before.estimate_id is not None:
            work.end, work.end_source, work.estimate = _stored_estimate(current[(row.serial, row.register)], None)
        else:
            work.end, work.end_source, work.estimate = _served_read(served_before), _served_source(served_before), None
        work.to_estimate = False
    return work


def _bounds(row, previous: dict, current: dict, opened, estimate_missing: bool, stale_before) -> _Register:
    """The register's start and end by the read boundary rule, the previous bill's end and estimates."""
    start = Read(row.start_value, row.start_unit, row.start_read_at) if row.start_read_at else None
    end = Read(row.end_value, row.end_unit, row.end_read_at) if row.end_read_at else None
    work = _Register(row, start, end, start, end, services.source_read(row, "start") if start else None,
                     services.source_read(row, "end") if end else None)
    if row.serial is None or start is None:
        return work
    key = (row.serial, row.register)
    if opened is not None and opened.estimate_id is None:
        # The last bill ended at this actual read: the period starts there, whatever arrived since.
        work.start, work.start_source = _served_read(opened), _served_source(opened)
    elif (estimate := previous.get(key)) is not None and estimate.read_at >= start.read_at:
        work.previous_estimate = estimate  # an estimated end served is a stored estimate: trued up below
    starts_at = work.previous_estimate.read_at if work.previous_estimate is not None else work.start.read_at
    # An actual read at the estimate's own instant (the boundary) is its true value: trued up at once.
    actual_at_estimate = work.previous_estimate is not None and start.read_at == work.previous_estimate.read_at
    if actual_at_estimate:
        work.true_up = {}
    if end is not None and end.read_at > starts_at:
        if work.previous_estimate is not None:
            work.true_up = {}  # worked out with the first actual read after the estimate
        work.stale_end = estimate_missing and stale_before is not None and end.read_at < stale_before
        if not work.stale_end:
            return work
        # The end read is too old to bill as the period's end: estimated from it, like a missing one.
    elif not actual_at_estimate:
        # No actual read since the period's start: the period starts where the last bill's estimate ended.
        work.start, work.start_source = _from_previous_estimate(work)
    if key in current:  # asked before: the same estimate
        work.end, work.end_source, work.estimate = _stored_estimate(current[key], None)
    elif estimate_missing:
        work.to_estimate = True
    return work


def _served_read(served) -> Read:
    return Read(served.value, served.unit, served.read_at)


def _served_source(served) -> dict:
    return {"read_at": served.read_at.astimezone(DISTRICT_ZONE), "value": served.raw, "validated_value": served.value,
            "unit": served.unit, "quality": served.quality, "source": served.source, "register": served.register}


def _billed_end(row, work: _Register) -> tuple:
    """The end reading served to the bill run for one register's period (repository.record_billed_end_reads)."""
    return (row.serial, work.row.register, work.end.read_at, work.end.value, work.end_source["value"], work.end.unit,
            work.end_source["quality"], work.end_source["source"],
            work.estimate["estimate_id"] if work.estimate else None, row.account_id)


def _from_previous_estimate(work: _Register):
    estimate = work.previous_estimate
    if estimate is None:
        return work.start, work.start_source
    return Read(estimate.value, estimate.unit, estimate.read_at), _estimate_source(estimate, work.row.register)


def _estimate_source(estimate, register: str) -> dict:
    return {"read_at": estimate.read_at.astimezone(DISTRICT_ZONE), "value": None, "validated_value": estimate.value,
            "unit": estimate.unit, "quality": "estimated", "source": "billing_estimate", "register": register}


def _stored_estimate(estimate, exception_id):
    view = {"estimate_id": estimate.estimate_id, "register": estimate.register,
            "read_at": estimate.read_at.astimezone(DISTRICT_ZONE), "value": estimate.value, "unit": estimate.unit,
            "method": estimate.method, "basis": estimate.basis, "consecutive_periods": estimate.consecutive,
            "prolonged_estimation_exception_id": exception_id}
    return (Read(estimate.value, estimate.unit, estimate.read_at), _estimate_source(estimate, estimate.register),
            view)


def _prolonged_ids(uow, estimates: list[dict]) -> None:
    """Estimates asked for again: the prolonged estimation exception each one raised, if any."""
    if not estimates:
        return
    raised = repository.prolonged_estimation_exceptions(uow.session, [e["estimate_id"] for e in estimates])
    for estimate in estimates:
        estimate["prolonged_estimation_exception_id"] = raised.get(estimate["estimate_id"])


def _true_ups(uow, registers: list[_Register]) -> None:
    """The true value at each previous estimate's instant, from the actual reads either side."""
    after = repository.first_validated_after(uow.session, [
        (r.row.serial, r.row.register, r.previous_estimate.read_at) for r in registers])
    for work in registers:
        estimate = work.previous_estimate
        found = after.get((work.row.serial, work.row.register))
        following = Read(found.value, found.unit, found.read_at) if found else None
        value, how_known = true_value_at(estimate.read_at, work.actual_start, following, work.row.register_digits)
        work.start = Read(value, estimate.unit, estimate.read_at)
        interpolated = work.actual_start.read_at != estimate.read_at
        work.start_source = {"read_at": estimate.read_at.astimezone(DISTRICT_ZONE), "value": None,
                             "validated_value": value, "unit": estimate.unit,
                             "quality": "estimated" if interpolated else "actual", "source": "true_up",
                             "register": work.row.register}
        difference = to_hcf(difference_modulo(value, estimate.value, work.row.register_digits), estimate.unit)
        multiplier = work.row.multiplier
        work.true_up = {"estimate_id": estimate.estimate_id, "register": work.row.register,
                        "estimated_read_at": estimate.read_at.astimezone(DISTRICT_ZONE),
                        "estimated_value": estimate.value, "actual_value": value, "unit": estimate.unit,
                        "how_known": how_known,
                        "difference": difference if multiplier == 1 else difference * multiplier}
        work.settles_estimate = True


def _estimates(uow, request: dict, policy: EstimationPolicy, start_at, end_at, wanted: list) -> None:
    """Estimate the registers lacking an end read, store the estimates, and raise a prolonged
    estimation exception (with a meter check work order) where a run of them grew too long."""
    if not wanted:
        return
    last_year_start, last_year_end = last_year_bounds(start_at, end_at)
    history = repository.estimation_history(
        uow.session, [(row.serial, work.row.register, _last_actual(work).read_at, row.installed_at)
                      for row, work in wanted], policy.history_days, last_year_start, last_year_end)
    made = []
    for row, work in wanted:
        found = history.get((row.serial, work.row.register))
        # An actual read since the previous estimate (a stale end read) starts the run of estimates afresh.
        previous = work.previous_estimate if work.true_up is None else None
        estimate = estimate_end_read(
            _last_actual(work), end_at,
            Read(found.history_value, work.actual_start.unit, found.history_read_at) if found.history_read_at else None,
            (Read(found.last_year_start_value, work.actual_start.unit, found.last_year_start_at),
             Read(found.last_year_end_value, work.actual_start.unit, found.last_year_end_at))
            if found.last_year_start_at and found.last_year_end_at else None,
            Read(previous.value, previous.unit, previous.read_at) if previous is not None else None, policy,
            row.register_digits)
        if estimate is None:
            work.notes.append("no history to estimate from")
            continue
        if work.stale_end:
            estimate.basis["stale_end_read"] = (f"the latest actual read was more than {policy.stale_end_read_days} "
                                                "days before the period end")
        stored = BillingEstimate(
            meter_serial=row.serial, register=work.row.register, read_at=estimate.read_at, value=estimate.value,
            unit=work.actual_start.unit, account_id=row.account_id, period_start=request["period_start"],
            period_end=request["period_end"], method=estimate.method, basis=estimate.basis,
            consecutive=previous.consecutive + 1 if previous is not None else 1, estimated_on=uow.today())
        uow.session.add(stored)
        made.append((row, work, stored))
    uow.session.flush()
    for row, work, stored in made:
        exception_id = _prolonged_estimation(uow, stored, policy) \
            if stored.consecutive >= policy.max_consecutive_estimates else None
        work.end, work.end_source, work.estimate = _stored_estimate(stored, exception_id)


def _last_actual(work: _Register) -> Read:
    """The register's latest actual read at or before the period end (the end read found, else the start)."""
    if work.actual_end is not None and work.actual_end.read_at > work.actual_start.read_at:
        return work.actual_end
    return work.actual_start


def _prolonged_estimation(uow, stored: BillingEstimate, policy: EstimationPolicy) -> int:
    """A register estimated period after period needs someone to look at the meter: an exception waiting
    for a meter check (with the work order to operations); it holds the next period until resolved."""
    item = ReadException(
        batch_id=None, meter_serial=stored.meter_serial, register=stored.register, read_at=stored.read_at,
        value=None, unit=stored.unit, rule="prolonged_estimation",
        reason=f"billing read estimated {stored.consecutive} periods in a row "
               f"(limit {policy.max_consecutive_estimates}): meter check requested",
        details={"consecutive_periods": stored.consecutive, "limit": policy.max_consecutive_estimates,
                 "estimate_id": stored.estimate_id, "estimated_value": str(stored.value), "holds": True},
        resolved=False, status="meter_check_requested")
    uow.session.add(item)
    uow.session.flush()
    worklist.request_field_work(uow, item, {"action": "request_meter_check", "resolved_by": "metering",
                                            "reason": item.reason})
    return item.exception_id


def _net_reverse_flows(row, registers: list[_Register]) -> None:
    """A register that fell in a period no read exception holds is billed to its start reading
    (domain.determinants.end_netting_reverse_flow); its end source stays the meter's own reading."""
    for work in registers:
        if work.start is not None and work.end is not None and work.end.read_at > work.start.read_at:
            work.end = end_netting_reverse_flow(work.start, work.end, row.register_digits)


def _determinant(rows, registers: list[_Register], end_at) -> tuple[dict | None, dict | None]:
    row = rows[0]
    found = MeterOnAccount(
        account_id=row.account_id, known_account=row.known_account, meter_serial=row.serial, meter_size=row.size,
        installed_at=row.installed_at, multiplier=row.multiplier if row.multiplier is not None else 1,
        register_digits=row.register_digits,
        registers=tuple(RegisterPeriod(r.row.register, r.start, r.end if r.end is not None and r.start is not None
                                       and r.end.read_at > r.start.read_at else None) for r in registers))
    determinant, gap = determinant_or_missing(found, end_at)
    if gap:
        notes = sorted({note for r in registers for note in r.notes})
        if notes and gap["reason"].startswith("no read in the period"):
            gap["reason"] += " and " + ", ".join(notes)
        return None, gap
    source_reads = [read for r in registers for read in (r.start_source, r.end_source)]
    counted = [read["quality"] for r in registers for read in (
        [r.end_source] if r.settles_estimate else [r.start_source, r.end_source])]
    determinant.update(quality=worst_quality(*counted), source_reads=source_reads,
                       estimates=[r.estimate for r in registers if r.estimate],
                       true_ups=[r.true_up for r in registers if r.true_up])
    return determinant, None
