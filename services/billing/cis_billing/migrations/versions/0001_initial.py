"""Billing: accounts view, tariffs (with the demo residential tariff), bill runs, bills, payments, ledger.

Revision ID: 0001
"""
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from cis_runtime.tables import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)

DEMO_RESIDENTIAL_TARIFF = {
    "name": "Residential water service (demo)",
    "customer_classes": ["residential"],
    "charges": [
        {"rule": "fixed_by_meter_size", "description": "Monthly service charge, {meter_size}\" meter",
         "unit": "month",
         "rates": {"5/8": "20.75", "3/4": "31.13", "1": "51.88", "1.5": "103.75", "2": "166.00",
                   "3": "332.00", "4": "518.75", "6": "1037.50", "8": "1660.00"}},
        {"rule": "volumetric", "description": "Water usage", "unit": "HCF", "rate": "3.65"},
    ],
}


def upgrade():
    create_runtime_tables(op)
    op.execute(sa.schema.CreateSequence(sa.Sequence("billing_ids")))
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("bill_cycle", sa.Text, nullable=False, index=True),
        sa.Column("customer_class", sa.Text, nullable=False),
        sa.Column("authorized_meter_size", sa.Text, nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    tariffs = op.create_table(
        "tariffs",
        sa.Column("tariff_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("adopted_by", sa.Text, nullable=False),
    )
    op.create_table(
        "bill_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("cycle", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.UniqueConstraint("cycle", "period_start", "period_end", name="bill_runs_once_per_period"),
    )
    op.create_table(
        "bill_run_accounts",
        sa.Column("run_id", sa.Text, sa.ForeignKey("bill_runs.run_id"), primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("accounts.account_id"), primary_key=True),
        sa.Column("outcome", sa.Text),
        sa.Column("reason", sa.Text),
    )
    op.create_index("bill_run_accounts_to_do", "bill_run_accounts", ["run_id", "account_id"],
                    postgresql_where=sa.text("outcome IS NULL"))
    op.create_table(
        "bills",
        sa.Column("bill_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("accounts.account_id"), nullable=False),
        sa.Column("bill_run_id", sa.Text, sa.ForeignKey("bill_runs.run_id"), nullable=False, index=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.UniqueConstraint("account_id", "period_start", "period_end", name="bills_one_per_account_period"),
    )
    op.create_table(
        "bill_lines",
        sa.Column("bill_id", sa.Text, sa.ForeignKey("bills.bill_id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("rate", sa.Numeric, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("tariff_id", sa.Text, nullable=False),
        sa.Column("tariff_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("accounts.account_id"), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
    )
    op.create_index("payments_once_per_reference", "payments", ["account_id", "reference", "method"], unique=True)
    op.create_table(
        "ledger_entries",
        sa.Column("entry_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey("accounts.account_id"), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
    )
    op.bulk_insert(tariffs, [{
        "tariff_id": "residential", "version": 1, "effective_from": date(2025, 7, 1),
        "document": DEMO_RESIDENTIAL_TARIFF, "adopted_by": "Board Resolution 2026-04 (demo)",
    }])


def downgrade():
    for table in ("ledger_entries", "payments", "bill_lines", "bills", "bill_run_accounts", "bill_runs",
                  "tariffs", "accounts", "business_clock", "inbox", "outbox"):
        op.drop_table(table)
    op.execute("drop sequence billing_ids")
