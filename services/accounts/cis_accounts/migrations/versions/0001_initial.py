"""Accounts: customers, parcels, connections, accounts; runtime tables.

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
    op.execute(sa.schema.CreateSequence(sa.Sequence("accounts_ids")))
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("mailing_address", JSONB, nullable=False),
        sa.Column("preferred_language", sa.Text, nullable=False),
    )
    op.create_table(
        "parcels",
        sa.Column("apn", sa.Text, primary_key=True),
        sa.Column("situs_address", JSONB, nullable=False),
        sa.Column("owner_of_record", sa.Text, nullable=False),
        sa.Column("owner_mailing_address", JSONB),
    )
    op.create_table(
        "connections",
        sa.Column("connection_id", sa.Text, primary_key=True),
        sa.Column("apn", sa.Text, sa.ForeignKey("parcels.apn"), nullable=False, index=True),
        sa.Column("service_type", sa.Text, nullable=False),
        sa.Column("authorized_meter_size", sa.Text, nullable=False),
        sa.Column("dwelling_units", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, sa.ForeignKey("customers.customer_id"), nullable=False, index=True),
        sa.Column("connection_id", sa.Text, sa.ForeignKey("connections.connection_id"), nullable=False),
        sa.Column("customer_class", sa.Text, nullable=False),
        sa.Column("bill_cycle", sa.Text, nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    op.create_index("accounts_one_open_per_connection", "accounts", ["connection_id"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))


def downgrade():
    for table in ("accounts", "connections", "parcels", "customers", "business_clock", "inbox", "outbox"):
        op.drop_table(table)
    op.execute("drop sequence accounts_ids")
