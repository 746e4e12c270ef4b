"""The end reading served to billing for each meter register and period end instant (billed_end_reads):
once served, a period's end is fixed, and the next period starts from it, so a read arriving late at or
before the boundary is billed in the next period instead of in none.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billed_end_reads",
        sa.Column("meter_serial", sa.Text(), nullable=False),
        sa.Column("register", sa.Text(), nullable=False),
        sa.Column("period_end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("raw", sa.Numeric(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("quality", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("estimate_id", sa.BigInteger(), sa.ForeignKey("billing_estimates.estimate_id"), nullable=True),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("meter_serial", "register", "period_end_at", name="billed_end_reads_one_per_period_end"),
    )


def downgrade() -> None:
    op.drop_table("billed_end_reads")
