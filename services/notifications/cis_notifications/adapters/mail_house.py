"""The mail house port: printed letters and door hangers leave the District through it.

`FileDropMailHouse` is the implementation the suite ships: each document is written as a
self-contained printable HTML page into a drop directory the mail house (or the District's print
room) collects from, `<drop>/<YYYY-MM-DD>/<notice_id>-<kind>.html`, with one row per document in
that day's `manifest.csv`. A District with a mail vendor's API replaces it with an adapter of the
same shape. The drop directory is CIS_MAIL_DROP_DIR (default `./mail-drop` under the service's
working directory).
"""
import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from cis_runtime import config

MANIFEST_FIELDS = ("document", "notice_id", "account_id", "kind", "channel", "addressee", "address", "dropped_on")


@dataclass(frozen=True)
class PrintedDocument:
    notice_id: str
    account_id: str
    kind: str
    channel: str       # "mail": the mail house mails it; "door_hanger": printed for field staff to post
    addressee: str
    address: str
    html: str


class MailHouse(Protocol):
    def drop(self, document: PrintedDocument, on: date) -> str:
        """Hand the document over for printing (and mailing); returns its name in the drop."""


class FileDropMailHouse:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @classmethod
    def from_config(cls) -> "FileDropMailHouse":
        return cls(Path(config.env("CIS_MAIL_DROP_DIR", str(Path.cwd() / "mail-drop"))))

    def drop(self, document: PrintedDocument, on: date) -> str:
        """Idempotent: the same notice dropped again (a redelivered request) rewrites its file and adds no
        second manifest row, so the mail house never mails it twice."""
        day = self.directory / on.isoformat()
        day.mkdir(parents=True, exist_ok=True)
        name = f"{on.isoformat()}/{document.notice_id}-{document.kind}.html"
        (self.directory / name).write_text(document.html, encoding="utf-8")
        manifest = day / "manifest.csv"
        if name not in self._documents(manifest):
            new_file = not manifest.exists()
            with manifest.open("a", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=MANIFEST_FIELDS)
                if new_file:
                    writer.writeheader()
                writer.writerow({"document": name, "notice_id": document.notice_id, "account_id": document.account_id,
                                 "kind": document.kind, "channel": document.channel, "addressee": document.addressee,
                                 "address": document.address, "dropped_on": on.isoformat()})
        return name

    @staticmethod
    def _documents(manifest: Path) -> set[str]:
        """The documents a manifest lists. A bill run drops a whole cycle's bills into one day's manifest, and
        reading it all for every drop was quadratic (5,000 bills: 34 s); so what was read is kept, by byte
        offset, and only rows appended since (by this process or another) are read."""
        if not manifest.exists():
            return set()
        offset, documents = _MANIFESTS.pop(manifest, (0, set()))
        if manifest.stat().st_size < offset:  # replaced since (the day collected and started again)
            offset, documents = 0, set()
        with manifest.open("rb") as rows:
            rows.seek(offset)
            appended = rows.read()
        complete = appended[:appended.rfind(b"\n") + 1]  # a row still being written is read next time
        documents.update(row[0] for row in csv.reader(io.StringIO(complete.decode("utf-8"), newline="")) if row)
        _MANIFESTS[manifest] = (offset + len(complete), documents)
        while len(_MANIFESTS) > MANIFESTS_KEPT:
            _MANIFESTS.pop(next(iter(_MANIFESTS)))  # the least recently used day
        return documents


MANIFESTS_KEPT = 4
_MANIFESTS: dict[Path, tuple[int, set[str]]] = {}  # manifest -> (bytes read, documents listed so far)
