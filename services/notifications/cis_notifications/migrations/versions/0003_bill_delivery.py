"""Bills on paper unless paperless (issue 9): each delivery's business date and the bill or notice it
carried; the customer's bill delivery choice (accounts.bill_delivery_changed.v1) with the mark of an
address the relay refused; closed accounts' forwarding addresses (accounts.account_closed.v2); at most one
delivered row per bill.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("deliveries", sa.Column("business_date", sa.Date))
    # Rows from before this revision never recorded the business date: their wall-clock date in the
    # District's zone is the best there is.
    op.execute("update deliveries set business_date = (sent_at at time zone 'America/Los_Angeles')::date")
    op.alter_column("deliveries", "business_date", nullable=False)
    op.add_column("deliveries", sa.Column("reference", sa.Text))
    op.create_index("deliveries_one_sent_per_bill", "deliveries", ["reference"], unique=True,
                    postgresql_where=sa.text("kind = 'bill_notice' and status = 'sent'"))
    op.create_table(
        "bill_delivery_choices",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("paperless", sa.Boolean, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("changed_on", sa.Date, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("email_refused_on", sa.Date),
        sa.Column("email_refused_error", sa.Text),
    )
    op.create_table(
        "account_closings",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("closed_on", sa.Date, nullable=False),
        sa.Column("forwarding_address", JSONB),
    )


def downgrade():
    op.drop_table("account_closings")
    op.drop_table("bill_delivery_choices")
    op.drop_index("deliveries_one_sent_per_bill", "deliveries")
    op.drop_column("deliveries", "reference")
    op.drop_column("deliveries", "business_date")
