"""Collections: accounts, receivables, payments, notices, daily runs; runtime tables.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from cis_runtime.tables import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade():
    create_runtime_tables(op)
    op.execute(sa.schema.CreateSequence(sa.Sequence("collections_ids")))
    op.create_table(
        "collection_accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("credit", MONEY, nullable=False),
        sa.Column("delinquent_since", sa.Date),
        sa.Column("cleared_on", sa.Date),
    )
    op.create_table(
        "receivables",
        sa.Column("bill_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("collection_accounts.account_id"), nullable=False,
                  index=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("past_due_notice_id", sa.Text),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("collection_accounts.account_id"), nullable=False,
                  index=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
    )
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("collection_accounts.account_id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("requested_on", sa.Date, nullable=False),
        sa.Column("amount_past_due", MONEY, nullable=False),
        sa.Column("bill_ids", ARRAY(sa.Text), nullable=False),
        sa.Column("oldest_due_on", sa.Date, nullable=False),
    )
    op.create_table(
        "daily_runs",
        sa.Column("business_date", sa.Date, primary_key=True),
        sa.Column("accounts_assessed", sa.Integer, nullable=False),
        sa.Column("newly_delinquent", sa.Integer, nullable=False),
        sa.Column("notices_requested", sa.Integer, nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    for table in ("daily_runs", "notices", "payments", "receivables", "collection_accounts",
                  "business_clock", "inbox", "outbox"):
        op.drop_table(table)
    op.execute("drop sequence collections_ids")
