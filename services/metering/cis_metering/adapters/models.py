"""SQLAlchemy models of the metering database (the migrations create exactly these)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
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
    meter_type: Mapped[str] = mapped_column(sa.Text, server_default="displacement")  # compound, turbine
    multiplier: Mapped[Decimal] = mapped_column(sa.Numeric, server_default="1")
    # The head-end's id for the meter's radio endpoint (BEACON Endpoint_SN), when it has one.
    ami_endpoint_id: Mapped[str | None] = mapped_column(sa.Text)
    delivers_to_agency: Mapped[str | None] = mapped_column(sa.Text)  # a bulk (intertie) meter
    locked: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())  # sealed/locked off
    __table_args__ = (sa.Index("meters_one_per_ami_endpoint", "ami_endpoint_id", unique=True),)


class Installation(Base):
    """Where a meter was set and when; removed_on is null while it is still in the ground."""
    __tablename__ = "installations"
    __table_args__ = (
        # A meter is in one place at a time, and a connection has one meter at a time.
        sa.Index("installations_one_place_per_meter", "serial", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL")),
        sa.Index("installations_one_meter_per_connection", "connection_id", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL")),
        # The meter in place at a period's end, removed or not (determinants).
        sa.Index("installations_by_connection", "connection_id", "installed_at"),
    )
    installation_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    serial: Mapped[str] = mapped_column(sa.ForeignKey("meters.serial"))
    connection_id: Mapped[str] = mapped_column(sa.Text)
    installed_on: Mapped[date] = mapped_column(sa.Date)
    # The instant of the install read (start of installed_on, District time): reads before it
    # belong to the meter's previous life, not to this connection.
    installed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    removed_on: Mapped[date | None] = mapped_column(sa.Date)
    removed_by: Mapped[str | None] = mapped_column(sa.Text)
    removal_reason: Mapped[str | None] = mapped_column(sa.Text)


class ServiceAccount(Base):
    """Metering's view of an account, built from accounts.account_opened.v1."""
    __tablename__ = "service_accounts"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    connection_id: Mapped[str] = mapped_column(sa.Text, index=True)
    status: Mapped[str] = mapped_column(sa.Text)
    opened_on: Mapped[date] = mapped_column(sa.Date)
    service_address: Mapped[str | None] = mapped_column(sa.Text)  # one line, for work orders
    apn: Mapped[str | None] = mapped_column(sa.Text)
    # From accounts.account_closed.v1: the last day of service (status becomes closed).
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    # For the per-class consumption ceiling (data/consumption_ceilings.json); null: not known (older events).
    customer_class: Mapped[str | None] = mapped_column(sa.Text)
    dwelling_units: Mapped[int | None] = mapped_column(sa.Integer)


class RegisterRead(Base):
    """A register reading, partitioned by month of read_at (partitions made on demand by the
    database function ensure_register_read_partition). `value` is what the meter or head-end said
    (null for an estimate); `validated_value` is what billing may use (null while a VEE rule holds
    the read). No foreign keys: a per-row check would halve AMI ingestion speed, and reads are only
    written for meters the ingest has just looked up."""
    __tablename__ = "register_reads"
    __table_args__ = {"postgresql_partition_by": "RANGE (read_at)"}
    meter_serial: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    register: Mapped[str] = mapped_column(sa.Text, primary_key=True, server_default="main")
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    unit: Mapped[str] = mapped_column(sa.Text)
    validated_value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    quality: Mapped[str] = mapped_column(sa.Text)  # actual | estimated | edited | suspect
    source: Mapped[str] = mapped_column(sa.Text)
    batch_id: Mapped[str | None] = mapped_column(sa.Text)


class BillingEstimate(Base):
    """An estimated billing (end-of-period) read of one register, made when billing asked for
    determinants with estimation and no actual read closed the period. Kept apart from register_reads:
    it is billing's figure, not a reading, and a late actual reading of the same instant must still be
    stored as received. The next period starts from it, and an actual read trues it up."""
    __tablename__ = "billing_estimates"
    __table_args__ = (sa.UniqueConstraint("meter_serial", "register", "read_at",
                                          name="billing_estimates_one_per_instant"),)
    estimate_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    meter_serial: Mapped[str] = mapped_column(sa.Text)
    register: Mapped[str] = mapped_column(sa.Text)
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))  # the end of the period
    value: Mapped[Decimal] = mapped_column(sa.Numeric)  # in the register's unit
    unit: Mapped[str] = mapped_column(sa.Text)
    account_id: Mapped[str] = mapped_column(sa.Text)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    method: Mapped[str] = mapped_column(sa.Text)  # average_daily_use | same_period_last_year
    basis: Mapped[dict] = mapped_column(JSONB)  # the reads and daily rate it came from
    consecutive: Mapped[int] = mapped_column(sa.Integer)  # periods in a row estimated, this one included
    estimated_on: Mapped[date] = mapped_column(sa.Date)  # business date


class BilledEndRead(Base):
    """The end reading a bill run was served for one register's period, keyed by the period's end
    instant: an actual read (at or before that instant) or a stored estimate (estimate_id). Asked
    again for the same period, metering serves it again; the period starting at that instant starts
    from it. So the periods billed tile whatever arrives late."""
    __tablename__ = "billed_end_reads"
    meter_serial: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    register: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    period_end_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))  # the reading's own instant
    value: Mapped[Decimal] = mapped_column(sa.Numeric)  # validated (or estimated), in the register's unit
    raw: Mapped[Decimal | None] = mapped_column(sa.Numeric)  # null for an estimate or interpolated reading
    unit: Mapped[str] = mapped_column(sa.Text)
    quality: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)  # billing_estimate for an estimate
    estimate_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("billing_estimates.estimate_id"))
    account_id: Mapped[str] = mapped_column(sa.Text)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    served_on: Mapped[date] = mapped_column(sa.Date)  # business date


class ReadException(Base):
    """A read that was received but not accepted, kept with the reason for a person to resolve."""
    __tablename__ = "read_exceptions"
    exception_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(sa.ForeignKey("ami_batches.batch_id"), index=True)
    meter_serial: Mapped[str] = mapped_column(sa.Text, index=True)
    register: Mapped[str] = mapped_column(sa.Text, server_default="main")
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    unit: Mapped[str] = mapped_column(sa.Text)
    rule: Mapped[str] = mapped_column(sa.Text, server_default="unknown_meter")
    reason: Mapped[str] = mapped_column(sa.Text)  # why, in words
    details: Mapped[dict | None] = mapped_column(JSONB)  # the values the rule looked at
    resolved: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    # open | accepted | edited | estimated | reread_requested | meter_check_requested | noted (did not hold)
    status: Mapped[str] = mapped_column(sa.Text, server_default="open")
    __table_args__ = (sa.Index("read_exceptions_by_status", "status", "exception_id"),)


class ReadExceptionResolution(Base):
    """The audit trail of the worklist: who did what to which exception, when, old and new values."""
    __tablename__ = "read_exception_resolutions"
    resolution_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    exception_id: Mapped[int] = mapped_column(sa.ForeignKey("read_exceptions.exception_id"), index=True)
    action: Mapped[str] = mapped_column(sa.Text)
    resolved_by: Mapped[str] = mapped_column(sa.Text)
    resolved_on: Mapped[date] = mapped_column(sa.Date)  # business date
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    reason: Mapped[str] = mapped_column(sa.Text)
    old_value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    new_value: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    old_status: Mapped[str] = mapped_column(sa.Text)
    new_status: Mapped[str] = mapped_column(sa.Text)
    work_order_id: Mapped[str | None] = mapped_column(sa.Text)


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


class ImportedFile(Base):
    """A reads file imported once: the same content again (same SHA-256) stores nothing new."""
    __tablename__ = "imported_files"
    file_hash: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    file_format: Mapped[str] = mapped_column(sa.Text)
    file_name: Mapped[str] = mapped_column(sa.Text)
    imported_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    row_count: Mapped[int] = mapped_column(sa.Integer)
    stored_count: Mapped[int] = mapped_column(sa.Integer)
    held_count: Mapped[int] = mapped_column(sa.Integer)
    rejected: Mapped[list] = mapped_column(JSONB)  # [{"line": n, "reason": "..."}]


class ManualRead(Base):
    """Who entered a manual or handheld reading and why (the reading itself is in register_reads)."""
    __tablename__ = "manual_reads"
    manual_read_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    meter_serial: Mapped[str] = mapped_column(sa.Text, index=True)
    register: Mapped[str] = mapped_column(sa.Text)
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    value: Mapped[Decimal] = mapped_column(sa.Numeric)
    source: Mapped[str] = mapped_column(sa.Text)  # manual | handheld
    reader: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    entered_on: Mapped[date] = mapped_column(sa.Date)  # business date
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class MeterTest(Base):
    """A meter's accuracy test (AWWA M6 flows, percent registered)."""
    __tablename__ = "meter_tests"
    test_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    serial: Mapped[str] = mapped_column(sa.ForeignKey("meters.serial"), index=True)
    tested_on: Mapped[date] = mapped_column(sa.Date)
    tester: Mapped[str] = mapped_column(sa.Text)
    low_flow_accuracy: Mapped[Decimal] = mapped_column(sa.Numeric)
    intermediate_flow_accuracy: Mapped[Decimal] = mapped_column(sa.Numeric)
    high_flow_accuracy: Mapped[Decimal] = mapped_column(sa.Numeric)
    passed: Mapped[bool] = mapped_column(sa.Boolean)
    notes: Mapped[str | None] = mapped_column(sa.Text)
