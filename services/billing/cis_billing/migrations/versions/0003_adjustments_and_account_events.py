"""Adjustments (late penalties, staff credits and debits) with the penalty requests seen, and the
accounts view kept from accounts.account_attributes_changed.v1 / account_closed.v1.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade():
    op.add_column("accounts", sa.Column("attributes_revision", sa.Integer, nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("closed_on", sa.Date))
    op.create_table(
        "adjustments",
        sa.Column("adjustment_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("accounts.account_id"), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("bill_id", sa.Text, sa.ForeignKey("bills.bill_id")),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("posted_by", sa.Text, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("request_id", sa.Text, unique=True),
    )
    op.create_table(
        "penalty_requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("bill_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("assessed_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("adjustment_id", sa.Text, sa.ForeignKey("adjustments.adjustment_id")),
    )


def downgrade():
    op.drop_table("penalty_requests")
    op.drop_table("adjustments")
    op.drop_column("accounts", "closed_on")
    op.drop_column("accounts", "attributes_revision")
