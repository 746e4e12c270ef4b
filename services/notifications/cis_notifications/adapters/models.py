"""SQLAlchemy models of the notifications database (the migrations create exactly these)."""
from datetime import date, datetime

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
    """One notice for one source event; the unique key is what stops a second email on redelivery, and a
    bill is delivered (status sent) at most once whatever message carried it."""
    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("source_message_id", "kind", "channel", name="deliveries_one_per_source"),
                      sa.Index("deliveries_one_sent_per_bill", "reference", unique=True,
                               postgresql_where=sa.text("kind = 'bill_notice' and status = 'sent'")),
                      sa.Index("deliveries_to_send", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")))
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
    sent_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))  # wall clock, for support staff
    business_date: Mapped[date] = mapped_column(sa.Date)  # the District's date it was mailed, posted or emailed
    reference: Mapped[str | None] = mapped_column(sa.Text)  # the bill_id, or collections' notice_id
    # An email is recorded 'pending' in the consumer's transaction and sent after commit by the send relay
    # (service_layer/send_relay.py): its RFC 5322 Message-ID (stable: derived from the fact), the body, what
    # it carries (the source message, for a refused e-bill printed instead) and when the relay may try next.
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[dict | None] = mapped_column(JSONB)
    next_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class DeliveryAttempt(Base):
    """Append-only log of every try to send a delivery (a trigger refuses updates and deletes): 'sending' is
    written and committed before the relay talks to SMTP, then the outcome as a new row: sent, refused (for
    good), transient (retried later), unknown (the relay stopped between send and outcome, found after a
    restart), gave_up."""
    __tablename__ = "delivery_attempts"
    attempt_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("deliveries.delivery_id"), index=True)
    outcome: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)


class BillDeliveryChoice(Base):
    """The customer's paper or paperless choice (accounts.bill_delivery_changed.v1, the highest revision), and
    whether the relay refused its address for good: then bills are mailed until the choice changes."""
    __tablename__ = "bill_delivery_choices"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    paperless: Mapped[bool] = mapped_column(sa.Boolean)
    email: Mapped[str | None] = mapped_column(sa.Text)
    changed_on: Mapped[date] = mapped_column(sa.Date)
    revision: Mapped[int] = mapped_column(sa.Integer)
    email_refused_on: Mapped[date | None] = mapped_column(sa.Date)
    email_refused_error: Mapped[str | None] = mapped_column(sa.Text)


class AccountClosing(Base):
    """A closed account (accounts.account_closed.v2): its closing bill and later letters go to the forwarding
    address (null: the mailing address on file)."""
    __tablename__ = "account_closings"
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    closed_on: Mapped[date] = mapped_column(sa.Date)
    forwarding_address: Mapped[dict | None] = mapped_column(JSONB)
