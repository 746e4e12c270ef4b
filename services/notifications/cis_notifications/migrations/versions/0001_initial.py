"""Notifications: contacts, deliveries; runtime tables.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from cis_runtime.tables import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_runtime_tables(op)
    op.execute(sa.schema.CreateSequence(sa.Sequence("notifications_ids")))
    op.create_table(
        "contacts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("customer_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("mailing_address", JSONB, nullable=False),
        sa.Column("preferred_language", sa.Text, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source_message_id", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_message_id", "kind", name="deliveries_one_per_source"),
    )


def downgrade():
    for table in ("deliveries", "contacts", "business_clock", "inbox", "outbox"):
        op.drop_table(table)
    op.execute("drop sequence notifications_ids")
