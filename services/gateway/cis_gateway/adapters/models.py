"""The gateway's own tables: staff users, API tokens of other systems, the append-only audit log."""
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

users = sa.Table(
    "staff_users", metadata,
    sa.Column("user_id", sa.Text, primary_key=True),  # the login name, e.g. "ana.reyes"
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id (argon2-cffi)
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("token_id", sa.Text, primary_key=True),  # public prefix of the token, for lookup and revocation
    sa.Column("system", sa.Text, nullable=False),  # the system it was issued to (the audit's "who")
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),  # sha256 of the secret (high entropy: no slow hash needed)
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("audit_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("actor", sa.Text),  # user id or "token:<token_id>"; null when not authenticated
    sa.Column("actor_kind", sa.Text, nullable=False),  # user | token | anonymous
    sa.Column("remote_addr", sa.Text),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("target", sa.Text),  # the URL path, naming the account/meter acted on
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),  # done | refused | failed
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("detail", JSONB),
)
