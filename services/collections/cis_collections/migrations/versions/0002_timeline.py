"""Collections timeline (SB 998 / Gov. Code 60370): account facts, notices on the way to a shutoff,
appeals, extensions, medical certifications, payment plans, contact attempts, work orders, action log;
liens and the tax-roll delinquent list.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)
ACCOUNT_FK = "collection_accounts.account_id"

ACCOUNT_COLUMNS = [
    ("customer_name", sa.Text), ("mailing_address", sa.Text), ("service_address", sa.Text), ("apn", sa.Text),
    ("owner_of_record", sa.Text), ("last_interest_waiver_on", sa.Date), ("shutoff_notice_id", sa.Text),
    ("occupant_copy_on", sa.Date), ("tenant_notice_on", sa.Date), ("forty_eight_hour_notice_on", sa.Date),
    ("final_notice_posted_on", sa.Date), ("shutoff_order_id", sa.Text), ("shutoff_ordered_on", sa.Date),
    ("reconnect_ordered_on", sa.Date),
]
ACCOUNT_FLAGS = [("residential", "true"), ("landlord_of_record", "false"), ("low_income", "false"),
                 ("financially_unable", "false")]


def upgrade():
    for name, type_ in ACCOUNT_COLUMNS:
        op.add_column("collection_accounts", sa.Column(name, type_))
    for name, default in ACCOUNT_FLAGS:
        op.add_column("collection_accounts", sa.Column(name, sa.Boolean, nullable=False,
                                                       server_default=sa.text(default)))
    op.add_column("receivables", sa.Column("final", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("receivables", sa.Column("written_off_on", sa.Date))
    op.add_column("notices", sa.Column("shutoff_on", sa.Date))
    op.add_column("notices", sa.Column("rule_code", sa.Text))
    op.create_table(
        "appeals",
        sa.Column("appeal_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("filed_on", sa.Date, nullable=False),
        sa.Column("resolved_on", sa.Date),
    )
    op.create_table(
        "extensions",
        sa.Column("extension_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("granted_on", sa.Date, nullable=False),
        sa.Column("until", sa.Date, nullable=False),
    )
    op.create_table(
        "medical_certifications",
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), primary_key=True),
        sa.Column("certified_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date),
    )
    op.create_table(
        "payment_plans",
        sa.Column("plan_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("agreed_on", sa.Date, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "plan_installments",
        sa.Column("plan_id", sa.Text, sa.ForeignKey("payment_plans.plan_id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
    )
    op.create_table(
        "contact_attempts",
        sa.Column("attempt_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("attempted_on", sa.Date, nullable=False),
        sa.Column("reached_adult", sa.Boolean, nullable=False),
    )
    op.create_table(
        "work_orders",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("ordered_on", sa.Date, nullable=False),
        sa.Column("residential", sa.Boolean, nullable=False),
        sa.Column("for_nonpayment", sa.Boolean, nullable=False),
        sa.Column("shutoff_order_id", sa.Text),
    )
    op.create_table(
        "collection_actions",
        sa.Column("action_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("account_id", sa.Text, sa.ForeignKey(ACCOUNT_FK), nullable=False, index=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("rule_code", sa.Text, nullable=False),
        sa.Column("citation", sa.Text, nullable=False),
        sa.Column("reference", sa.Text),
    )
    op.create_table(
        "liens",
        sa.Column("lien_id", sa.Text, primary_key=True),
        sa.Column("apn", sa.Text, nullable=False, index=True),
        sa.Column("owner_of_record", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("recorded_on", sa.Date, nullable=False),
        sa.Column("paid_in_full_on", sa.Date),
        sa.Column("released_on", sa.Date),
    )
    op.create_table(
        "tax_roll_lists",
        sa.Column("tax_year", sa.Integer, primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("mailed_on", sa.Date),
        sa.Column("published_on", ARRAY(sa.Date)),
        sa.Column("hearing_on", sa.Date),
        sa.Column("filed_on", sa.Date),
    )
    op.create_table(
        "tax_roll_items",
        sa.Column("tax_year", sa.Integer, sa.ForeignKey("tax_roll_lists.tax_year"), primary_key=True),
        sa.Column("apn", sa.Text, primary_key=True),
        sa.Column("owner_of_record", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("bill_ids", ARRAY(sa.Text), nullable=False),
        sa.Column("adjusted_amount", MONEY),
        sa.Column("protests", ARRAY(sa.Text), nullable=False),
        sa.Column("bona_fide_purchaser", sa.Boolean, nullable=False),
        sa.Column("removed", sa.Text),
    )


def downgrade():
    for table in ("tax_roll_items", "tax_roll_lists", "liens", "collection_actions", "work_orders", "contact_attempts", "plan_installments", "payment_plans",
                  "medical_certifications", "extensions", "appeals"):
        op.drop_table(table)
    for column in ("rule_code", "shutoff_on"):
        op.drop_column("notices", column)
    for column in ("written_off_on", "final"):
        op.drop_column("receivables", column)
    for name, _ in ACCOUNT_COLUMNS + ACCOUNT_FLAGS:
        op.drop_column("collection_accounts", name)
