"""SQLAlchemy models of the accounts database (the migrations create exactly these)."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cis_runtime.tables import add_runtime_tables


class Base(DeclarativeBase):
    pass


add_runtime_tables(Base.metadata)
ids = sa.Sequence("accounts_ids", metadata=Base.metadata)


def trigram_index(name: str, expression: str) -> sa.Index:
    """A pg_trgm GIN index on an expression, for staff search (migration 0004 makes them; the search SQL in
    service_layer/search.py repeats each expression verbatim)."""
    return sa.Index(name, sa.literal_column(expression).label(name), postgresql_using="gin",
                    postgresql_ops={name: "gin_trgm_ops"})


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        trigram_index("customers_search_name", "lower(name)"),
        trigram_index("customers_search_email", "lower(email)"),
        trigram_index("customers_search_phone_digits", "regexp_replace(phone, '[^0-9]', '', 'g')"),
        trigram_index("customers_search_mailing_line1", "lower(mailing_address ->> 'line1')"),
    )
    customer_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.Text)
    mailing_address: Mapped[dict] = mapped_column(JSONB)
    preferred_language: Mapped[str] = mapped_column(sa.Text)


class Parcel(Base):
    __tablename__ = "parcels"
    __table_args__ = (trigram_index("parcels_search_situs_line1", "lower(situs_address ->> 'line1')"),)
    apn: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    situs_address: Mapped[dict] = mapped_column(JSONB)
    owner_of_record: Mapped[str] = mapped_column(sa.Text)
    owner_mailing_address: Mapped[dict | None] = mapped_column(JSONB)


class Connection(Base):
    __tablename__ = "connections"
    __table_args__ = (trigram_index("connections_search_apn_digits", "replace(apn, '-', '')"),)
    connection_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    apn: Mapped[str] = mapped_column(sa.ForeignKey("parcels.apn"), index=True)
    service_type: Mapped[str] = mapped_column(sa.Text)
    authorized_meter_size: Mapped[str] = mapped_column(sa.Text)
    dwelling_units: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.Text)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # One open account per connection, enforced by the database.
        sa.Index("accounts_one_open_per_connection", "connection_id", unique=True,
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("accounts_by_connection", "connection_id"),
        trigram_index("accounts_search_account_id", "account_id"),
    )
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.customer_id"), index=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.connection_id"))
    customer_class: Mapped[str] = mapped_column(sa.Text)
    bill_cycle: Mapped[str] = mapped_column(sa.Text)
    opened_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.Text)
    # what rates are computed from beyond class and meter (dwelling units sit on the connection)
    residents: Mapped[int | None] = mapped_column(sa.Integer)
    landscape_area_sqft: Mapped[Decimal | None] = mapped_column(sa.Numeric)
    budget_variance: Mapped[Decimal | None] = mapped_column(sa.Numeric)  # HCF per bill
    budget_variance_reason: Mapped[str | None] = mapped_column(sa.Text)
    fire_line_size: Mapped[str | None] = mapped_column(sa.Text)
    attributes_effective_on: Mapped[date | None] = mapped_column(sa.Date)
    attributes_revision: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    closed_on: Mapped[date | None] = mapped_column(sa.Date)  # the last day of service
    close_reason: Mapped[str | None] = mapped_column(sa.Text)
    forwarding_address: Mapped[dict | None] = mapped_column(JSONB)  # where the closing bill and final notices go
    # how bills reach the customer: paper unless paperless (which needs the customer's email address)
    paperless: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    bill_delivery_changed_on: Mapped[date | None] = mapped_column(sa.Date)
    bill_delivery_changed_by: Mapped[str | None] = mapped_column(sa.Text)
    bill_delivery_revision: Mapped[int] = mapped_column(sa.Integer, server_default="0")
