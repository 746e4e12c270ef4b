"""Users, tokens and the audit log in the gateway's PostgreSQL database (SQLAlchemy Core)."""
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cis_gateway.adapters.models import api_tokens, audit_log, users
from cis_gateway.permissions import ROLES

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "cgw"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not a password")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(sorted(ROLES))}")


class Store:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    # --- users -----------------------------------------------------------------------------

    def create_user(self, user_id: str, display_name: str, role: str, password: str) -> None:
        _check_role(role)
        if len(password) < 12:
            raise ValueError("a password has at least 12 characters")
        with self.engine.begin() as c:
            if c.execute(sa.select(users.c.user_id).where(users.c.user_id == user_id)).first():
                raise ValueError(f"user {user_id!r} exists")
            c.execute(users.insert().values(user_id=user_id, display_name=display_name, role=role,
                                            password_hash=_hasher.hash(password)))

    def authenticate(self, user_id: str, password: str) -> dict | None:
        """The user when the password is right and the account neither disabled nor locked; counts failures."""
        with self.engine.begin() as c:
            row = c.execute(users.select().where(users.c.user_id == user_id).with_for_update()).mappings().first()
            if row is None:
                _verify(_DUMMY_HASH, password)
                return None
            locked = row["locked_until"] is not None and row["locked_until"] > _now()
            good = _verify(row["password_hash"], password)
            if locked or not row["active"]:
                return None
            if not good:
                failed = row["failed_logins"] + 1
                c.execute(users.update().where(users.c.user_id == user_id).values(
                    failed_logins=0 if failed >= MAX_FAILED_LOGINS else failed,
                    locked_until=_now() + LOCKOUT if failed >= MAX_FAILED_LOGINS else None))
                return None
            if row["failed_logins"] or _hasher.check_needs_rehash(row["password_hash"]):
                c.execute(users.update().where(users.c.user_id == user_id).values(
                    failed_logins=0, locked_until=None, password_hash=_hasher.hash(password)))
            return {"user_id": row["user_id"], "display_name": row["display_name"], "role": row["role"]}

    def user(self, user_id: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(users.c.user_id, users.c.display_name, users.c.role)
                            .where(users.c.user_id == user_id, users.c.active)).mappings().first()
        return dict(row) if row else None

    # --- API tokens ------------------------------------------------------------------------

    def create_token(self, system: str, role: str, token: str | None = None) -> str:
        """A new token `cgw_<id>_<secret>`; only its hash is kept. `token` lets a deploy supply one."""
        _check_role(role)
        if token is None:
            token = f"{TOKEN_PREFIX}_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
        token_id, secret = _split(token)
        if token_id is None:
            raise ValueError("a token reads cgw_<id>_<secret> with a secret of at least 32 characters")
        with self.engine.begin() as c:
            c.execute(api_tokens.insert().values(token_id=token_id, system=system, role=role,
                                                 secret_hash=_sha256(secret)))
        return token

    def token(self, token: str) -> dict | None:
        token_id, secret = _split(token)
        if token_id is None:
            return None
        with self.engine.connect() as c:
            row = c.execute(api_tokens.select().where(api_tokens.c.token_id == token_id,
                                                      api_tokens.c.revoked_at.is_(None))).mappings().first()
        if row is None or not hmac.compare_digest(row["secret_hash"], _sha256(secret)):
            return None
        return {"token_id": row["token_id"], "system": row["system"], "role": row["role"]}

    def revoke_tokens_of(self, system: str, keep_token_id: str) -> int:
        with self.engine.begin() as c:
            return c.execute(api_tokens.update().where(api_tokens.c.system == system,
                                                       api_tokens.c.token_id != keep_token_id,
                                                       api_tokens.c.revoked_at.is_(None))
                             .values(revoked_at=_now())).rowcount

    def revoke_token(self, token_id: str) -> bool:
        with self.engine.begin() as c:
            return c.execute(api_tokens.update().where(api_tokens.c.token_id == token_id,
                                                       api_tokens.c.revoked_at.is_(None))
                             .values(revoked_at=_now())).rowcount == 1

    # --- audit -----------------------------------------------------------------------------

    def audit(self, **row) -> None:
        with self.engine.begin() as c:
            c.execute(audit_log.insert().values(**row))

    def audit_rows(self, limit: int = 100) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(audit_log.select().order_by(audit_log.c.audit_id.desc())
                                               .limit(limit)).mappings()]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str | None, str | None]:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or len(parts[2]) < 32:
        return None, None
    return f"{parts[0]}_{parts[1]}", parts[2]
