"""Administer the gateway's staff users and API tokens.

    python -m cis_gateway.admin migrate
    python -m cis_gateway.admin create-user ana.reyes --name "Ana Reyes" --role billing_technician [--password P]
    python -m cis_gateway.admin create-token head-end --role operations_liaison     (prints the token once)
    python -m cis_gateway.admin revoke-token cgw_1a2b3c4d5e6f

A deploy (or the suite runner, or a test) may instead set CIS_GATEWAY_BOOTSTRAP_TOKEN to a token it made
(`cgw_<id>_<secret>`, secret >= 32 characters) with CIS_GATEWAY_BOOTSTRAP_ROLE (default administrator): the
gateway stores its hash at start-up if that token id is not yet known, and revokes every earlier bootstrap
token (each start of the suite runner makes a new one).
"""
import argparse
import os
import secrets
import sys

from cis_gateway.adapters.store import Store, _split
from cis_runtime import config, db


def store() -> Store:
    return Store(db.make_engine(config.database_url("gateway"), pool_size=1))


def new_token() -> str:
    return f"cgw_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def bootstrap_token_from_environment(target: Store) -> None:
    token = os.environ.get("CIS_GATEWAY_BOOTSTRAP_TOKEN")
    if not token:
        return
    if target.token(token) is None:
        token_id, _ = _split(token)
        if token_id is None:
            raise SystemExit("CIS_GATEWAY_BOOTSTRAP_TOKEN is not a cgw_<id>_<secret> token")
        target.create_token("bootstrap", os.environ.get("CIS_GATEWAY_BOOTSTRAP_ROLE", "administrator"), token)
    target.revoke_tokens_of("bootstrap", keep_token_id=_split(token)[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cis_gateway.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create and migrate the gateway database")
    user = commands.add_parser("create-user")
    user.add_argument("user_id")
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True)
    user.add_argument("--password", help="default: a new random one, printed")
    token = commands.add_parser("create-token")
    token.add_argument("system")
    token.add_argument("--role", required=True)
    revoke = commands.add_parser("revoke-token")
    revoke.add_argument("token_id")
    args = parser.parse_args(argv)
    try:
        if args.command == "migrate":
            db.prepare_database("gateway")
        elif args.command == "create-user":
            password = args.password or secrets.token_urlsafe(12)
            store().create_user(args.user_id, args.name, args.role, password)
            print(f"{args.user_id}\t{args.role}\t{password if not args.password else '(as given)'}")
        elif args.command == "create-token":
            print(store().create_token(args.system, args.role))
        elif args.command == "revoke-token":
            if not store().revoke_token(args.token_id):
                print(f"no active token {args.token_id}", file=sys.stderr)
                return 1
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
