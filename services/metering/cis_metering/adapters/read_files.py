"""Reads files from head-ends and handhelds, parsed into one row model (FileRead).

Formats (documented in docs/metering.md):
  beacon   Badger BEACON interval export: Endpoint_SN, Endpoint_Type, Encoder_Value, Read_Time,
           Read_Interval (minutes), one reading per row; Encoder_Value is in the meter's register unit.
  generic  meter_serial, read_at, value, and optionally register (main/high/low), unit (HCF, gallons,
           cubic_feet) and interval_minutes.
Read_Time / read_at: ISO 8601; without a zone offset it is District local time (America/Los_Angeles).
Every rejected row is reported with its line number (the header is line 1) and the reason.
Rows become domain Readings naming the meter as the file does; the import resolves meters per block.
"""
import csv
import io
import re
from functools import partial
from dataclasses import dataclass
from datetime import datetime, timezone

from cis_metering.domain.intervals import Reading
from cis_metering.domain.model import DISTRICT_ZONE
from cis_runtime.errors import InvalidInput

FORMATS = ("beacon", "generic")
REGISTER_READING = re.compile(r"\d{1,12}(\.\d{1,6})?")
REGISTERS = ("main", "high", "low")
UNITS = ("HCF", "gallons", "cubic_feet")
INTERVAL_MINUTES = (5, 15, 30, 60, 1440)

_COLUMNS = {
    "beacon": (("Endpoint_SN", "Endpoint_Type", "Encoder_Value", "Read_Time", "Read_Interval"), ()),
    "generic": (("meter_serial", "read_at", "value"), ("register", "unit", "interval_minutes")),
}


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


def parse(file_format: str, text: str) -> tuple[list[Reading], list[RejectedRow]]:
    """The whole file at once (small files, tests)."""
    reads, rejected = [], []
    for chunk_reads, chunk_rejected in parse_chunks(file_format, io.StringIO(text)):
        reads += chunk_reads
        rejected += chunk_rejected
    return reads, rejected


def parse_chunks(file_format: str, lines, chunk_rows: int = 50_000):
    """Yield (readings, rejected rows) for every `chunk_rows` data rows of `lines` (an open text file or
    any iterable of lines), so a file of any size is parsed in bounded memory. A missing column or an
    empty file is refused (InvalidInput) before the first chunk."""
    if file_format not in FORMATS:
        raise InvalidInput({"file_format": [f"Must be one of: {', '.join(FORMATS)}."]})
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
        raise InvalidInput({"file": ["The file is empty."]})
    columns = _column_positions(file_format, [name.strip() for name in header])
    parse_row = _beacon_row_parser(columns) if file_format == "beacon" else partial(_parse_generic_row,
                                                                                      columns=columns)
    reads, rejected = [], []
    for line, row in enumerate(rows, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        try:
            reads.append(parse_row(line, row))
        except _RowError as error:
            rejected.append(RejectedRow(line, str(error)))
        if len(reads) + len(rejected) >= chunk_rows:
            yield reads, rejected
            reads, rejected = [], []
    if reads or rejected:
        yield reads, rejected


class _RowError(ValueError):
    pass


def _column_positions(file_format: str, header: list[str]) -> dict[str, int]:
    required, optional = _COLUMNS[file_format]
    missing = [name for name in required if name not in header]
    if missing:
        raise InvalidInput({"file": [f"Line 1: missing column(s) {', '.join(missing)}."]})
    return {name: header.index(name) for name in required + optional if name in header}


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    position = columns.get(name)
    if position is None or position >= len(row):
        return ""
    return row[position].strip()


def _beacon_row_parser(columns: dict[str, int]):
    """A row parser with the column positions bound once (a file has a million rows)."""
    endpoint_at, value_at, time_at, interval_at = (columns[name] for name in (
        "Endpoint_SN", "Encoder_Value", "Read_Time", "Read_Interval"))
    width = max(columns.values()) + 1

    def parse_row(line: int, row: list[str]) -> Reading:
        if len(row) < width:
            raise _RowError(f"{len(row)} columns where the header has {width}")
        endpoint = row[endpoint_at].strip()
        if not endpoint:
            raise _RowError("Endpoint_SN is empty")
        return Reading(line, endpoint, "main", _timestamp(row[time_at].strip(), "Read_Time"),
                        _reading(row[value_at].strip(), "Encoder_Value"), None,
                        _interval(row[interval_at].strip(), "Read_Interval"))

    return parse_row


def _parse_generic_row(line: int, row: list[str], columns: dict[str, int]) -> Reading:
    serial = _cell(row, columns, "meter_serial")
    if not serial:
        raise _RowError("meter_serial is empty")
    register = _cell(row, columns, "register") or "main"
    if register not in REGISTERS:
        raise _RowError(f"register {register!r} is not one of {', '.join(REGISTERS)}")
    unit = _cell(row, columns, "unit") or None
    if unit is not None and unit not in UNITS:
        raise _RowError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    interval = _cell(row, columns, "interval_minutes")
    return Reading(line, serial, register, _timestamp(_cell(row, columns, "read_at"), "read_at"),
                    _reading(_cell(row, columns, "value"), "value"), unit,
                    _interval(interval, "interval_minutes") if interval else None)


def _reading(text: str, column: str) -> str:
    if not REGISTER_READING.fullmatch(text):
        raise _RowError(f"{column} {text!r} is not a register reading (digits, up to 6 decimals)")
    return text


def _timestamp(text: str, column: str) -> datetime:
    """Parsed once per distinct text: an interval export repeats the same few hundred times a
    million times. Kept in UTC, so sorting and subtracting never consult the zone rules again."""
    moment = _TIMESTAMPS.get(text)
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _RowError(f"{column} {text!r} is not an ISO 8601 date and time") from None
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=DISTRICT_ZONE)).astimezone(timezone.utc)
        if len(_TIMESTAMPS) < _TIMESTAMP_CACHE_SIZE:
            _TIMESTAMPS[text] = moment
    return moment


_TIMESTAMP_CACHE_SIZE = 100_000
_TIMESTAMPS: dict[str, datetime] = {}


def _interval(text: str, column: str) -> int:
    seconds = _INTERVAL_SECONDS.get(text)
    if seconds is None:
        raise _RowError(f"{column} {text!r} is not one of {', '.join(map(str, INTERVAL_MINUTES))} minutes")
    return seconds


_INTERVAL_SECONDS = {str(minutes): minutes * 60 for minutes in INTERVAL_MINUTES}
