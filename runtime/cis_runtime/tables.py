"""Tables every service database has: outbox, inbox, business clock.

Each service calls `add_runtime_tables(metadata)` on its own MetaData, and its first
migration calls `create_runtime_tables(op)`, so models and migrations agree (a test checks).
"""
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID


def add_runtime_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("message_name", sa.Text, nullable=False),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    sa.Index("outbox_unsent", outbox.c.id, postgresql_where=outbox.c.sent_at.is_(None))
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("message_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_name", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    business_clock = sa.Table(
        "business_clock", metadata,
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("business_date", sa.Date),
        sa.CheckConstraint("id = 1", name="business_clock_single_row"),
    )
    return {"outbox": outbox, "inbox": inbox, "business_clock": business_clock}


def create_runtime_tables(op) -> None:
    """Create the runtime tables (and their indexes) inside an Alembic migration."""
    for table in add_runtime_tables(sa.MetaData()).values():
        table.create(bind=op.get_bind())
