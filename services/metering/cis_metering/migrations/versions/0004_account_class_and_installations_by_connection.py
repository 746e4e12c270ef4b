"""The customer class and dwelling units of each account (from accounts.account_opened.v1), for the
per-class consumption ceiling VEE applies to meters without enough history; and installations by
connection and install instant, for the meter in place at a period's end (an old meter exchanged at or
after the end instant still ends the period: the read boundary rule).

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_accounts", sa.Column("customer_class", sa.Text(), nullable=True))
    op.add_column("service_accounts", sa.Column("dwelling_units", sa.Integer(), nullable=True))
    op.create_index("installations_by_connection", "installations", ["connection_id", "installed_at"])


def downgrade() -> None:
    op.drop_index("installations_by_connection", table_name="installations")
    op.drop_column("service_accounts", "dwelling_units")
    op.drop_column("service_accounts", "customer_class")
