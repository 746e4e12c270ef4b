"""SQLAlchemy models of the collections database (the migrations create exactly these)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cis_runtime.tables import add_runtime_tables

MONEY = sa.Numeric(12, 2)


class Base(DeclarativeBase):
    pass


add_runtime_tables(Base.metadata)
ids = sa.Sequence("collections_ids", metadata=Base.metadata)


class CollectionAccount(Base):
    """An account as collections knows it: from its first bill or payment on."""
    __tablename__ = "collection_accounts"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    status: Mapped[str] = mapped_column(sa.Text)
    credit: Mapped[Decimal] = mapped_column(MONEY)
    delinquent_since: Mapped[date | None] = mapped_column(sa.Date)
    cleared_on: Mapped[date | None] = mapped_column(sa.Date)


class Receivable(Base):
    """One issued bill: what it asks for and how much of it is paid."""
    __tablename__ = "receivables"
    bill_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("collection_accounts.account_id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    past_due_notice_id: Mapped[str | None] = mapped_column(sa.Text)


class Payment(Base):
    __tablename__ = "payments"
    payment_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("collection_accounts.account_id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_on: Mapped[date] = mapped_column(sa.Date)


class Notice(Base):
    __tablename__ = "notices"
    notice_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("collection_accounts.account_id"), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    requested_on: Mapped[date] = mapped_column(sa.Date)
    amount_past_due: Mapped[Decimal] = mapped_column(MONEY)
    bill_ids: Mapped[list[str]] = mapped_column(ARRAY(sa.Text))
    oldest_due_on: Mapped[date] = mapped_column(sa.Date)


class DailyRun(Base):
    """One row per business date: the primary key is what makes the daily run happen once."""
    __tablename__ = "daily_runs"
    business_date: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    accounts_assessed: Mapped[int] = mapped_column(sa.Integer)
    newly_delinquent: Mapped[int] = mapped_column(sa.Integer)
    notices_requested: Mapped[int] = mapped_column(sa.Integer)
    ran_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
