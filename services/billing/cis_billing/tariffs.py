"""Load or check a tariff document from a file (YAML or JSON):

    python -m cis_billing.tariffs check path.yaml    # validate only
    python -m cis_billing.tariffs load path.yaml     # validate and store in billing's database

Loads through the same use case as the `billing.load_tariff` RPC (history kept, the identical
document again is a no-op). The database is CIS_PG_URL/CIS_DB_PREFIX's billing database, or --database-url.
"""
import argparse
import json
import sys
from pathlib import Path

import yaml
from sqlalchemy.orm import sessionmaker

from cis_billing.domain.tariff_document import TariffInvalid
from cis_billing.service_layer.tariffs import load_tariff, parse_adopted
from cis_runtime import config
from cis_runtime.db import make_engine
from cis_runtime.errors import Conflict, InvalidInput
from cis_runtime.uow import UnitOfWork


def read_document(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    # Dates stay strings: the tariff schema parses them, the same way for YAML, JSON and RPC.
    return yaml.load(text, Loader=_NoDatesLoader)


class _NoDatesLoader(yaml.SafeLoader):
    pass


_NoDatesLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cis_billing.tariffs", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "load"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    try:
        document = read_document(args.path)
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"{args.path}: cannot read: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        try:
            tariff = parse_adopted(document)
        except TariffInvalid as error:
            return _report(args.path, [problem for problem in error.problems])
        print(f"{args.path}: {tariff.label} is a valid tariff document")
        return 0
    engine = make_engine(args.database_url or config.database_url("billing"), pool_size=1)
    try:
        with UnitOfWork(sessionmaker(bind=engine, expire_on_commit=False), "billing") as uow:
            stored = load_tariff(uow, document)
    except InvalidInput as error:
        return _report(args.path, [f"{field}: {'; '.join(messages)}"
                                   for field, messages in error.field_errors.items()])
    except Conflict as error:
        return _report(args.path, [str(error)])
    finally:
        engine.dispose()
    print(f"{args.path}: loaded {stored['tariff_id']}@{stored['version']} effective {stored['effective_from']}")
    return 0


def _report(path: Path, problems: list[str]) -> int:
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
