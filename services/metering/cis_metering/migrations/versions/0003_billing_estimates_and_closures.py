"""Estimated billing reads (billing_estimates) and account closures learnt from accounts
(service_accounts.closed_on).

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_estimates",
        sa.Column("estimate_id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("meter_serial", sa.Text(), nullable=False),
        sa.Column("register", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("basis", postgresql.JSONB(), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("estimated_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("meter_serial", "register", "read_at", name="billing_estimates_one_per_instant"),
    )
    op.add_column("service_accounts", sa.Column("closed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("service_accounts", "closed_on")
    op.drop_table("billing_estimates")
