"""The money seams (issue 9): bills count from their delivery (notifications.bill_delivered.v1), closed accounts
(accounts.account_closed.v2), any number of daily runs per business date, reasons in the action log.

Receivables stored before this revision are taken as delivered on the day they were issued: that is what the
engine counted from until now, and leaving them undelivered would silently stop collecting every open bill.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RUN_COUNTS = ("actions_taken", "accounts_deferred")
RUN_LISTS = ("deferred", "accounts_failed")


def upgrade():
    op.add_column("receivables", sa.Column("delivered_on", sa.Date))
    op.execute("update receivables set delivered_on = issued_on")
    op.create_table(
        "bill_deliveries",
        sa.Column("bill_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("delivered_on", sa.Date, nullable=False),
    )
    op.add_column("collection_accounts", sa.Column("closed_on", sa.Date))
    op.add_column("collection_accounts", sa.Column("forwarding_address", sa.Text))
    op.add_column("collection_actions", sa.Column("reason", sa.Text))
    op.add_column("daily_runs", sa.Column("run_number", sa.Integer, nullable=False, server_default="1"))
    for name in RUN_COUNTS:
        op.add_column("daily_runs", sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    for name in RUN_LISTS:
        op.add_column("daily_runs", sa.Column(name, JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")))
    op.drop_constraint("daily_runs_pkey", "daily_runs")
    op.create_primary_key("daily_runs_pkey", "daily_runs", ["business_date", "run_number"])


def downgrade():
    op.execute("delete from daily_runs where run_number > 1")
    op.drop_constraint("daily_runs_pkey", "daily_runs")
    op.create_primary_key("daily_runs_pkey", "daily_runs", ["business_date"])
    for name in RUN_LISTS + RUN_COUNTS + ("run_number",):
        op.drop_column("daily_runs", name)
    op.drop_column("collection_actions", "reason")
    op.drop_column("collection_accounts", "forwarding_address")
    op.drop_column("collection_accounts", "closed_on")
    op.drop_table("bill_deliveries")
    op.drop_column("receivables", "delivered_on")
