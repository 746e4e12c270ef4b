"""Importing a reads file (BEACON or generic CSV): one unit of work per file, so a file is stored
whole (its accepted rows) or not at all, and the same content imported again stores nothing."""
import hashlib

from sqlalchemy.dialects.postgresql import insert

from cis_metering.adapters import read_files, repository
from cis_metering.adapters.models import ImportedFile
from cis_metering.domain.intervals import blocks_from_readings
from cis_metering.service_layer.services import store_blocks

# An unknown meter's readings are held as exceptions in this unit until staff resolve them.
UNIT_OF_UNKNOWN_METER = "HCF"


def import_reads_file(uow, file_format: str, file_name: str, content: bytes) -> dict:
    file_hash = hashlib.sha256(content).hexdigest()
    previous = uow.session.get(ImportedFile, file_hash)
    if previous is not None:
        return _report(_as_record(previous), already_imported=True)
    rows, rejected = read_files.parse(file_format, content.decode("utf-8-sig"))
    blocks, conflicting = blocks_from_readings(rows)
    _resolve_meters(blocks, repository.meters_by_reference(uow.session, {block["meter_serial"] for block in blocks}))
    rejected_rows = sorted([(r.line, r.reason) for r in rejected] + conflicting)
    batch_id = f"file-{file_hash}"
    repository.record_batch(uow.session, batch_id, f"file:{file_format}", file_hash, len(rows))
    stored, held = store_blocks(uow, batch_id, blocks)
    record = {"file_hash": file_hash, "file_format": file_format, "file_name": file_name,
              "row_count": len(rows) + len(rejected), "stored_count": stored, "held_count": held,
              "rejected": [{"line": line, "reason": reason} for line, reason in rejected_rows]}
    inserted = uow.session.execute(insert(ImportedFile).values(**record).on_conflict_do_nothing()
                                   .returning(ImportedFile.file_hash)).first()
    if inserted is None:  # the same file imported concurrently: the other import stored it
        uow.session.rollback()
        return _report(_as_record(uow.session.get(ImportedFile, file_hash)), already_imported=True)
    uow.commit()
    return _report(record, already_imported=False)


def _resolve_meters(blocks: list[dict], meters: dict[str, tuple[str, str]]) -> None:
    """Name each block by its meter's serial (a BEACON file names endpoints) and give it the register's
    unit when the file did not say; an unknown meter keeps the file's name, to be held as an exception."""
    for block in blocks:
        serial, meter_unit = meters.get(block["meter_serial"], (block["meter_serial"], UNIT_OF_UNKNOWN_METER))
        block["meter_serial"] = serial
        block["unit"] = block["unit"] or meter_unit


def _as_record(imported: ImportedFile) -> dict:
    return {name: getattr(imported, name) for name in
            ("file_hash", "file_format", "file_name", "row_count", "stored_count", "held_count", "rejected")}


def _report(record: dict, already_imported: bool) -> dict:
    return {"file_hash": record["file_hash"], "file_format": record["file_format"],
            "file_name": record["file_name"], "already_imported": already_imported, "rows": record["row_count"],
            "stored": record["stored_count"], "held": record["held_count"], "rejected": record["rejected"]}
