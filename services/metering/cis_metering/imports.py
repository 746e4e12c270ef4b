"""Import a reads file from the command line:

    python -m cis_metering.imports beacon path/to/export.csv
    python -m cis_metering.imports generic path/to/reads.csv

Prints the import report as JSON (rows, stored, held as read exceptions, rejected rows with line number
and reason). Exit status 0 when the file was read (even with rejected rows), 2 when it could not be.
Uses the metering database of the environment (CIS_PG_URL, CIS_DB_PREFIX; see cis_runtime.config).
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from cis_metering.adapters.read_files import FORMATS
from cis_metering.service_layer.imports import import_reads_stream
from cis_runtime import config
from cis_runtime.db import make_engine
from cis_runtime.errors import InvalidInput
from cis_runtime.uow import UnitOfWork


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file_format", choices=FORMATS)
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    engine = make_engine(config.database_url("metering"), pool_size=2)
    try:
        with UnitOfWork(sessionmaker(bind=engine, expire_on_commit=False), "metering") as uow:
            report = import_reads_stream(uow, args.file_format, args.path.name, _sha256(args.path),
                                         lambda: args.path.open(encoding="utf-8-sig", newline=""))
    except InvalidInput as error:
        print(json.dumps({"error": error.field_errors}))
        return 2
    finally:
        engine.dispose()
    print(json.dumps(report, indent=1))
    return 0


def _sha256(path: Path) -> str:
    """The file's hash, read a megabyte at a time (the import then streams it: memory stays bounded)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for piece in iter(lambda: file.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
