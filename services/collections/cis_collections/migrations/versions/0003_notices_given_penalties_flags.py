"""Notices count when given (mailed or posted), work order outcomes from operations, late penalty
requests and billing adjustments, staff flags (tenant-occupied rental, low-income evidence).

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
ACCOUNT_FK = "collection_accounts.account_id"

ACCOUNT_COLUMNS = [
    ("shutoff_notice_mailed_on", sa.Date), ("tenant_notice_requested_on", sa.Date),
    ("door_hanger_ordered_on", sa.Date), ("final_notice_requested_on", sa.Date), ("final_notice_mailed_on", sa.Date),
    ("final_notice_posting_ordered_on", sa.Date), ("last_monthly_penalty_on", sa.Date),
    ("low_income_evidence", sa.Text), ("low_income_verified_on", sa.Date), ("flags_changed_by", sa.Text),
]
ACCOUNT_FLAGS = [("occupant_copy_requested", "false"), ("tenant_occupied", "false")]
WORK_ORDER_COLUMNS = [("notice_kind", sa.Text), ("notice_id", sa.Text), ("completed_on", sa.Date),
                      ("outcome_reason", sa.Text), ("fee_normal_hours", MONEY), ("fee_after_hours", MONEY)]


def upgrade():
    for name, type_ in ACCOUNT_COLUMNS:
        op.add_column("collection_accounts", sa.Column(name, type_))
    for name, default in ACCOUNT_FLAGS:
        op.add_column("collection_accounts", sa.Column(name, sa.Boolean, nullable=False,
                                                       server_default=sa.text(default)))
    op.add_column("notices", sa.Column("given_on", sa.Date))
    op.add_column("appeals", sa.Column("kind", sa.Text, nullable=False, server_default="appeal"))
    op.add_column("receivables", sa.Column("adjustment", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("work_orders", sa.Column("status", sa.Text, nullable=False, server_default="ordered"))
    for name, type_ in WORK_ORDER_COLUMNS:
        op.add_column("work_orders", sa.Column(name, type_))
    op.create_table(
        "late_penalty_requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("bill_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("assessed_on", sa.Date, nullable=False),
        sa.Column("waive_interest", sa.Boolean, nullable=False),
    )
    op.create_table(
        "adjustments",
        sa.Column("adjustment_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("adjustments")
    op.drop_table("late_penalty_requests")
    for name, _ in WORK_ORDER_COLUMNS + [("status", None)]:
        op.drop_column("work_orders", name)
    op.drop_column("receivables", "adjustment")
    op.drop_column("notices", "given_on")
    op.drop_column("appeals", "kind")
    for name, _ in ACCOUNT_COLUMNS + ACCOUNT_FLAGS:
        op.drop_column("collection_accounts", name)
