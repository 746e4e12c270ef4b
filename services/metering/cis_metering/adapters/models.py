"""SQLAlchemy models of the metering database (the migrations create exactly these)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cis_runtime.tables import add_runtime_tables


class Base(DeclarativeBase):
    pass


add_runtime_tables(Base.metadata)


class Meter(Base):
    __tablename__ = "meters"
    serial: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    size: Mapped[str] = mapped_column(sa.Text)
    make: Mapped[str | None] = mapped_column(sa.Text)
    model: Mapped[str | None] = mapped_column(sa.Text)
    register_digits: Mapped[int] = mapped_column(sa.Integer)
    unit: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)


class Installation(Base):
    """Where a meter was set and when; removed_on is null while it is still in the ground."""
    __tablename__ = "installations"
    __table_args__ = (
        # A meter is in one place at a time, and a connection has one meter at a time.
        sa.Index("installations_one_place_per_meter", "serial", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL")),
        sa.Index("installations_one_meter_per_connection", "connection_id", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL")),
    )
    installation_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    serial: Mapped[str] = mapped_column(sa.ForeignKey("meters.serial"))
    connection_id: Mapped[str] = mapped_column(sa.Text)
    installed_on: Mapped[date] = mapped_column(sa.Date)
    # The instant of the install read (start of installed_on, District time): reads before it
    # belong to the meter's previous life, not to this connection.
    installed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    removed_on: Mapped[date | None] = mapped_column(sa.Date)


class ServiceAccount(Base):
    """Metering's view of an account, built from accounts.account_opened.v1."""
    __tablename__ = "service_accounts"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    connection_id: Mapped[str] = mapped_column(sa.Text, index=True)
    status: Mapped[str] = mapped_column(sa.Text)
    opened_on: Mapped[date] = mapped_column(sa.Date)


class RegisterRead(Base):
    __tablename__ = "register_reads"
    __table_args__ = (
        # One reading per meter per instant: a re-sent read is a no-op (insert ... on conflict do nothing).
        sa.UniqueConstraint("meter_serial", "read_at", name="register_reads_one_per_instant"),
    )
    read_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    meter_serial: Mapped[str] = mapped_column(sa.ForeignKey("meters.serial"))
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    value: Mapped[Decimal] = mapped_column(sa.Numeric)
    unit: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)
    batch_id: Mapped[str | None] = mapped_column(sa.ForeignKey("ami_batches.batch_id"))


class ReadException(Base):
    """A read that was received but not accepted, kept with the reason for a person to resolve."""
    __tablename__ = "read_exceptions"
    exception_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(sa.ForeignKey("ami_batches.batch_id"), index=True)
    meter_serial: Mapped[str] = mapped_column(sa.Text, index=True)
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    value: Mapped[Decimal] = mapped_column(sa.Numeric)
    unit: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    resolved: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class AmiBatch(Base):
    """Each head-end batch once: a re-published batch_id adds nothing."""
    __tablename__ = "ami_batches"
    batch_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    head_end: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    read_count: Mapped[int] = mapped_column(sa.Integer)
    stored_count: Mapped[int] = mapped_column(sa.Integer)
    held_count: Mapped[int] = mapped_column(sa.Integer)
