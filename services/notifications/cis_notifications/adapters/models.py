"""SQLAlchemy models of the notifications database (the migrations create exactly these)."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cis_runtime.tables import add_runtime_tables


class Base(DeclarativeBase):
    pass


add_runtime_tables(Base.metadata)
ids = sa.Sequence("notifications_ids", metadata=Base.metadata)


class Contact(Base):
    """Who to write to about an account (from accounts.account_opened)."""
    __tablename__ = "contacts"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    customer_name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)
    mailing_address: Mapped[dict] = mapped_column(JSONB)
    preferred_language: Mapped[str] = mapped_column(sa.Text)


class Delivery(Base):
    """One notice for one source event; the unique key is what stops a second email on redelivery."""
    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("source_message_id", "kind", "channel", name="deliveries_one_per_source"),)
    delivery_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.Text, index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.Text, server_default="email", default="email")  # email | mail | posted
    document: Mapped[str | None] = mapped_column(sa.Text)  # the printed letter's name in the mail-house drop
    source_message_id: Mapped[str] = mapped_column(sa.Text)
    recipient: Mapped[str | None] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)  # the last SMTP error of a failed delivery
    sent_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
