"""Metering: meters, installations, service accounts, AMI batches, register reads, read exceptions;
runtime tables.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

from cis_runtime.tables import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_runtime_tables(op)
    op.create_table(
        "meters",
        sa.Column("serial", sa.Text, primary_key=True),
        sa.Column("size", sa.Text, nullable=False),
        sa.Column("make", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("register_digits", sa.Integer, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    op.create_table(
        "installations",
        sa.Column("installation_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("serial", sa.Text, sa.ForeignKey("meters.serial"), nullable=False),
        sa.Column("connection_id", sa.Text, nullable=False),
        sa.Column("installed_on", sa.Date, nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_on", sa.Date),
    )
    op.create_index("installations_one_place_per_meter", "installations", ["serial"], unique=True,
                    postgresql_where=sa.text("removed_on IS NULL"))
    op.create_index("installations_one_meter_per_connection", "installations", ["connection_id"], unique=True,
                    postgresql_where=sa.text("removed_on IS NULL"))
    op.create_table(
        "service_accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("connection_id", sa.Text, nullable=False, index=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
    )
    op.create_table(
        "ami_batches",
        sa.Column("batch_id", sa.Text, primary_key=True),
        sa.Column("head_end", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("read_count", sa.Integer, nullable=False),
        sa.Column("stored_count", sa.Integer, nullable=False),
        sa.Column("held_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "register_reads",
        sa.Column("read_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("meter_serial", sa.Text, sa.ForeignKey("meters.serial"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, sa.ForeignKey("ami_batches.batch_id")),
        sa.UniqueConstraint("meter_serial", "read_at", name="register_reads_one_per_instant"),
    )
    op.create_table(
        "read_exceptions",
        sa.Column("exception_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("batch_id", sa.Text, sa.ForeignKey("ami_batches.batch_id"), index=True),
        sa.Column("meter_serial", sa.Text, nullable=False, index=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("resolved", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade():
    for table in ("read_exceptions", "register_reads", "ami_batches", "service_accounts", "installations",
                  "meters", "business_clock", "inbox", "outbox"):
        op.drop_table(table)
