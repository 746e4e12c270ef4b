"""Readings entered by staff: checked by the same VEE rules as AMI readings (against the meter's
previous validated reading), stored in the same read model, with reader and reason recorded."""
from decimal import Decimal

from cis_metering.adapters import interval_store, repository
from cis_metering.adapters.models import ManualRead
from cis_metering.domain.model import DISTRICT_ZONE, check_fits_register
from cis_metering.domain.vee import DEFAULT_THRESHOLDS, block_hold, validate_block
from cis_metering.service_layer.services import ceiling_finding_without_history, emit_alerts, exception_row
from cis_runtime.errors import Conflict, NotFound

# Between two manual reads weeks apart flow is normal: a leak is seen in interval data, not here.
NOT_FOR_MANUAL_READS = {"continuous_flow", "gap"}


def enter_manual_read(uow, request: dict) -> dict:
    serial, register, read_at = request["meter_serial"], request["register"], request["read_at"]
    repository.ensure_partitions(uow.session.get_bind(), [read_at])  # before anything reads register_reads
    meter = repository.meter_facts(uow.session, [serial]).get(serial)
    if meter is None:
        raise NotFound("meter", serial)
    check_fits_register(request["value"], meter.register_digits, "value")
    value = str(request["value"])
    reading = {"meter_serial": serial, "register": register, "unit": meter.unit, "interval_start": read_at,
               "interval_seconds": 3600, "values": [value], "flags": []}
    held = block_hold(reading, meter)
    if held:  # staff can fix this now, unlike a head-end: say so rather than hold it
        raise Conflict(f"meter {serial}: {held.reason}")
    findings = _findings_against_previous(uow, reading, meter)
    validated = None if any(finding.holds for finding in findings) else value
    interval_store.stage_blocks(uow.session, [(reading, [validated])])
    _, already_stored = interval_store.expand_staged(uow.session, None, request["source"])
    if already_stored:
        raise Conflict(f"meter {serial} already has a {register} reading at {read_at.isoformat()}; "
                       "resolve it in the read exceptions worklist instead")
    exceptions = [exception_row(None, reading, finding) for finding in findings]
    exception_ids = repository.insert_exception_rows_returning_ids(uow.session, exceptions)
    emit_alerts(uow, [row for row in exceptions if row["rule"] == "reverse_flow"])
    uow.session.add(ManualRead(meter_serial=serial, register=register, read_at=read_at, value=request["value"],
                               source=request["source"], reader=request["reader"], reason=request["reason"],
                               entered_on=uow.today()))
    uow.commit()
    return {**request, "read_at": read_at.astimezone(DISTRICT_ZONE), "validated_value": validated,
            "quality": "actual" if validated is not None else "suspect",
            "findings": [{"exception_id": exception_id, "rule": row["rule"], "reason": row["reason"]}
                         for exception_id, row in zip(exception_ids, exceptions)]}


def _findings_against_previous(uow, reading: dict, meter) -> list:
    previous = repository.previous_validated_read(uow.session, reading["meter_serial"], reading["register"],
                                                  reading["interval_start"])
    if previous is None:
        return []
    pair = dict(reading, interval_start=previous.read_at, values=[str(previous.validated_value), reading["values"][0]],
                interval_seconds=max(1, int((reading["interval_start"] - previous.read_at).total_seconds())))
    _, findings = validate_block(pair, meter)
    findings = [finding.__class__(finding.rule, 0, finding.reason, finding.details, finding.holds)
                for finding in findings if finding.rule not in NOT_FOR_MANUAL_READS]
    if meter.ceiling is not None and not any(finding.holds for finding in findings):
        over = ceiling_finding_without_history(
            uow, reading["meter_serial"], reading["register"], meter, previous.read_at, previous.validated_value,
            reading["interval_start"], Decimal(reading["values"][0]), reading["unit"], 0, DEFAULT_THRESHOLDS)
        findings += [over] if over is not None else []
    return findings
