"""Importing a reads file (BEACON or generic CSV): one unit of work per file, so a file is stored
whole (its accepted rows) or not at all, and the same content imported again stores nothing."""
import hashlib
import io

from sqlalchemy.dialects.postgresql import insert

from cis_metering.adapters import read_files, repository
from cis_metering.adapters.models import ImportedFile
from cis_metering.domain.intervals import blocks_from_readings
from cis_metering.service_layer.services import store_blocks

# An unknown meter's readings are held as exceptions in this unit until staff resolve them.
UNIT_OF_UNKNOWN_METER = "HCF"
# Rows parsed, grouped and stored at a time: about 50 MB of Python objects, whatever the file's size.
CHUNK_ROWS = 50_000


def import_reads_file(uow, file_format: str, file_name: str, content: bytes) -> dict:
    return import_reads_stream(uow, file_format, file_name, hashlib.sha256(content).hexdigest(),
                               lambda: io.StringIO(content.decode("utf-8-sig")))


def import_reads_stream(uow, file_format: str, file_name: str, file_hash: str, open_text,
                        chunk_rows: int = CHUNK_ROWS) -> dict:
    """Import a file read `chunk_rows` rows at a time (`open_text()` opens it as text), so memory stays
    bounded whatever its size; still one unit of work. A meter's readings cut by a chunk end continue in
    the next block, checked against the reading just stored (VEE across batch boundaries); a reading
    repeating an instant of an earlier chunk with another value is held as a conflicting duplicate
    rather than rejected naming the line."""
    previous = uow.session.get(ImportedFile, file_hash)
    if previous is not None:
        return _report(_as_record(previous), already_imported=True)
    batch_id = f"file-{file_hash}"
    repository.record_batch(uow.session, batch_id, f"file:{file_format}", file_hash, 0)
    accepted = row_count = stored = held = 0
    rejected_rows = []
    with open_text() as text:
        for rows, rejected in read_files.parse_chunks(file_format, text, chunk_rows):
            blocks, conflicting = blocks_from_readings(rows)
            _resolve_meters(blocks, repository.meters_by_reference(uow.session,
                                                                   {block["meter_serial"] for block in blocks}))
            chunk_stored, chunk_held = store_blocks(uow, batch_id, blocks)
            stored, held = stored + chunk_stored, held + chunk_held
            accepted, row_count = accepted + len(rows), row_count + len(rows) + len(rejected)
            rejected_rows += [(r.line, r.reason) for r in rejected] + conflicting
    repository.set_batch_counts(uow.session, batch_id, stored, held, read_count=accepted)
    record = {"file_hash": file_hash, "file_format": file_format, "file_name": file_name,
              "row_count": row_count, "stored_count": stored, "held_count": held,
              "rejected": [{"line": line, "reason": reason} for line, reason in sorted(rejected_rows)]}
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
