"""SQLAlchemy models of the billing database (the migrations create exactly these)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cis_runtime.tables import add_runtime_tables


class Base(DeclarativeBase):
    pass


add_runtime_tables(Base.metadata)
ids = sa.Sequence("billing_ids", metadata=Base.metadata)
MONEY = sa.Numeric(12, 2)
REFERENCE_TABLES = ("tariffs",)  # adopted by migrations; test fixtures leave them in place


class Account(Base):
    """Billing's view of an account, kept from accounts.account_opened.v1."""
    __tablename__ = "accounts"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    bill_cycle: Mapped[str] = mapped_column(sa.Text, index=True)
    customer_class: Mapped[str] = mapped_column(sa.Text)
    authorized_meter_size: Mapped[str] = mapped_column(sa.Text)
    opened_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.Text)
    dwelling_units: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    # what budget, fire and sewer charges need beyond the event: residents, landscape_area_sqft,
    # fire_line_size, winter_average, budget_variance (docs/tariffs.md)
    attributes: Mapped[dict] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    # the revision of accounts.account_attributes_changed.v1 applied (a late, older event is ignored)
    attributes_revision: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    closed_on: Mapped[date | None] = mapped_column(sa.Date)  # from accounts.account_closed.v1


class Tariff(Base):
    """An adopted tariff version: the rates as data, with the act that adopted them."""
    __tablename__ = "tariffs"
    tariff_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    document: Mapped[dict] = mapped_column(JSONB)
    adopted_by: Mapped[str] = mapped_column(sa.Text)
    effective_to: Mapped[date | None] = mapped_column(sa.Date)
    loaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class BillRun(Base):
    __tablename__ = "bill_runs"
    __table_args__ = (sa.UniqueConstraint("cycle", "period_start", "period_end", name="bill_runs_once_per_period"),)
    run_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    cycle: Mapped[str] = mapped_column(sa.Text)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    issued_on: Mapped[date] = mapped_column(sa.Date)  # the business date the run was started
    status: Mapped[str] = mapped_column(sa.Text)
    # the business date its exceptions were last tried again (the issue date of the bills that retry issued)
    retried_on: Mapped[date | None] = mapped_column(sa.Date, nullable=True)


class BillRunAccount(Base):
    """The accounts a run covers, fixed when it starts (copied from accounts by that statement, so
    without foreign keys to check); outcome null = still to do or billed, exception = not billed."""
    __tablename__ = "bill_run_accounts"
    __table_args__ = (sa.Index("bill_run_accounts_to_do", "run_id", "account_id",
                               postgresql_where=sa.text("outcome IS NULL")),)
    run_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    outcome: Mapped[str | None] = mapped_column(sa.Text)  # exception (billed: the run's bill exists)
    reason: Mapped[str | None] = mapped_column(sa.Text)


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (
        # At most one bill per account per period, whatever runs or restarts happen.
        sa.UniqueConstraint("account_id", "period_start", "period_end", name="bills_one_per_account_period"),)
    bill_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.account_id"))
    bill_run_id: Mapped[str] = mapped_column(sa.ForeignKey("bill_runs.run_id"), index=True)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    total: Mapped[Decimal] = mapped_column(MONEY)


class BillLine(Base):
    __tablename__ = "bill_lines"
    bill_id: Mapped[str] = mapped_column(sa.ForeignKey("bills.bill_id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text)
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric)
    unit: Mapped[str] = mapped_column(sa.Text)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    rule: Mapped[str] = mapped_column(sa.Text)
    tariff_id: Mapped[str] = mapped_column(sa.Text)
    tariff_version: Mapped[int] = mapped_column(sa.Integer)
    # why the amount is what it is: the charge of the tariff document, tier bounds, days, proration
    charge: Mapped[str | None] = mapped_column(sa.Text)
    tier_from: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    tier_to: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    days: Mapped[int | None] = mapped_column(sa.Integer)
    proration: Mapped[str | None] = mapped_column(sa.Text)
    # a true-up line: the bill whose usage it corrects (or "estimate <id>" billed on no bill of the account)
    true_up_of: Mapped[str | None] = mapped_column(sa.Text)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        # A replayed bank or lockbox file must not post the same payment twice.
        sa.Index("payments_once_per_reference", "account_id", "reference", "method", unique=True),
        sa.CheckConstraint("amount > 0", name="payments_amount_positive"))
    payment_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.account_id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(sa.Text)
    reference: Mapped[str] = mapped_column(sa.Text)
    received_on: Mapped[date] = mapped_column(sa.Date)


class LedgerEntry(Base):
    """The account ledger: charges positive, payments and credits negative (a bill's total may be either:
    a credit bill); the balance is the sum. Append-only, like bills, payments and adjustments (a row
    trigger, migration 0008)."""
    __tablename__ = "ledger_entries"
    __table_args__ = (sa.CheckConstraint(
        "(kind <> 'payment' or amount < 0) and (kind <> 'credit' or amount <= 0) and "
        "(kind not in ('late_penalty', 'debit', 'fee') or amount >= 0)", name="ledger_entries_signed_by_kind"),)
    entry_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.account_id"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)  # bill | payment | an adjustment kind
    amount: Mapped[Decimal] = mapped_column(MONEY)
    posted_on: Mapped[date] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.Text)  # bill_id or payment_id


class Adjustment(Base):
    """A ledger adjustment (late penalty, staff credit or debit): bills stay as issued."""
    __tablename__ = "adjustments"
    __table_args__ = (sa.CheckConstraint(
        "(kind <> 'credit' or amount <= 0) and (kind not in ('late_penalty', 'debit', 'fee') or amount >= 0)",
        name="adjustments_signed_by_kind"),)
    adjustment_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.account_id"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)  # late_penalty | credit | debit | fee
    amount: Mapped[Decimal] = mapped_column(MONEY)  # signed as on the ledger
    posted_on: Mapped[date] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.Text)  # the penalty request_id, or the staff reason code
    bill_id: Mapped[str | None] = mapped_column(sa.ForeignKey("bills.bill_id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)
    posted_by: Mapped[str] = mapped_column(sa.Text)
    lines: Mapped[list] = mapped_column(JSONB)  # [{description, amount, rule}]
    # a retried request posts once: the database refuses a second adjustment for one request
    request_id: Mapped[str | None] = mapped_column(sa.Text, unique=True)


class PenaltyRequest(Base):
    """Every late-penalty request seen, with what came of it: one that came to 0.00 or was refused
    posts nothing but is remembered, so a repeat is a no-op whatever the inbox holds."""
    __tablename__ = "penalty_requests"
    request_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.Text)
    bill_id: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)  # basic | monthly
    assessed_on: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    adjustment_id: Mapped[str | None] = mapped_column(sa.ForeignKey("adjustments.adjustment_id"))
    # why billing refused it on its own ledger (paid by the due date plus grace days, nothing past
    # due); null when priced
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    # a basic penalty asked while the bill could still be paid on time waits for this day (then null)
    deferred_until: Mapped[date | None] = mapped_column(sa.Date)
    request: Mapped[dict | None] = mapped_column(JSONB)  # as asked, while deferred
    __table_args__ = (sa.Index("penalty_requests_deferred", "deferred_until",
                               postgresql_where=sa.text("deferred_until is not null")),
                      sa.Index("penalty_requests_adjustment", "adjustment_id"))
