"""SQLAlchemy models of the collections database (the migrations create exactly these)."""
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    __table_args__ = (sa.CheckConstraint("credit >= 0", name="collection_accounts_credit_not_negative"),)
    account_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    status: Mapped[str] = mapped_column(sa.Text)
    credit: Mapped[Decimal] = mapped_column(MONEY)
    delinquent_since: Mapped[date | None] = mapped_column(sa.Date)
    cleared_on: Mapped[date | None] = mapped_column(sa.Date)
    # facts from accounts.account_opened.v1
    customer_name: Mapped[str | None] = mapped_column(sa.Text)
    mailing_address: Mapped[str | None] = mapped_column(sa.Text)
    service_address: Mapped[str | None] = mapped_column(sa.Text)
    apn: Mapped[str | None] = mapped_column(sa.Text)
    owner_of_record: Mapped[str | None] = mapped_column(sa.Text)
    residential: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true(), default=True)
    landlord_of_record: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    low_income: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    financially_unable: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    # staff flags: a tenant-occupied rental (H&S 116916) and the low-income evidence (H&S 116914(b))
    tenant_occupied: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    low_income_evidence: Mapped[str | None] = mapped_column(sa.Text)
    low_income_verified_on: Mapped[date | None] = mapped_column(sa.Date)
    flags_changed_by: Mapped[str | None] = mapped_column(sa.Text)
    # where the account stands on the shutoff timeline
    last_interest_waiver_on: Mapped[date | None] = mapped_column(sa.Date)
    last_monthly_penalty_on: Mapped[date | None] = mapped_column(sa.Date)
    shutoff_notice_id: Mapped[str | None] = mapped_column(sa.Text)
    shutoff_notice_mailed_on: Mapped[date | None] = mapped_column(sa.Date)
    occupant_copy_requested: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    occupant_copy_on: Mapped[date | None] = mapped_column(sa.Date)
    tenant_notice_requested_on: Mapped[date | None] = mapped_column(sa.Date)
    tenant_notice_on: Mapped[date | None] = mapped_column(sa.Date)
    door_hanger_ordered_on: Mapped[date | None] = mapped_column(sa.Date)
    forty_eight_hour_notice_on: Mapped[date | None] = mapped_column(sa.Date)
    final_notice_requested_on: Mapped[date | None] = mapped_column(sa.Date)
    final_notice_mailed_on: Mapped[date | None] = mapped_column(sa.Date)
    final_notice_posting_ordered_on: Mapped[date | None] = mapped_column(sa.Date)
    final_notice_posted_on: Mapped[date | None] = mapped_column(sa.Date)
    shutoff_order_id: Mapped[str | None] = mapped_column(sa.Text)
    shutoff_ordered_on: Mapped[date | None] = mapped_column(sa.Date)
    reconnect_ordered_on: Mapped[date | None] = mapped_column(sa.Date)
    # facts from accounts.account_closed.v2: a closed account is never shut off; final notices go forward
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    forwarding_address: Mapped[str | None] = mapped_column(sa.Text)


class Receivable(Base):
    """One issued bill: what it asks for and how much of it is paid."""
    __tablename__ = "receivables"
    __table_args__ = (sa.CheckConstraint("amount >= 0 and paid >= 0 and paid <= amount",
                                         name="receivables_paid_within_amount"),)
    bill_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("collection_accounts.account_id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    past_due_notice_id: Mapped[str | None] = mapped_column(sa.Text)
    final: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)
    written_off_on: Mapped[date | None] = mapped_column(sa.Date)
    adjustment: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), default=False)  # a posted charge
    # notifications.bill_delivered.v1: the day the bill reached the customer; None: never delivered (starts nothing)
    delivered_on: Mapped[date | None] = mapped_column(sa.Date)


class BillDelivery(Base):
    """A bill's delivery as notifications reported it; kept by bill id, since it may arrive before the bill."""
    __tablename__ = "bill_deliveries"
    bill_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.Text)
    delivered_on: Mapped[date] = mapped_column(sa.Date)


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
    shutoff_on: Mapped[date | None] = mapped_column(sa.Date)
    rule_code: Mapped[str | None] = mapped_column(sa.Text)
    given_on: Mapped[date | None] = mapped_column(sa.Date)  # mailed (or posted): the date the law counts from


class DailyRun(Base):
    """One row per run of a business date (any number a day); each account action is taken once whatever
    the number of runs, by the keys of the actions themselves."""
    __tablename__ = "daily_runs"
    business_date: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    run_number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    accounts_assessed: Mapped[int] = mapped_column(sa.Integer)
    newly_delinquent: Mapped[int] = mapped_column(sa.Integer)
    notices_requested: Mapped[int] = mapped_column(sa.Integer)
    actions_taken: Mapped[int] = mapped_column(sa.Integer, server_default="0", default=0)
    accounts_deferred: Mapped[int] = mapped_column(sa.Integer, server_default="0", default=0)
    deferred: Mapped[list] = mapped_column(JSONB, server_default="[]", default=list)  # the first 100
    accounts_failed: Mapped[list] = mapped_column(JSONB, server_default="[]", default=list)
    ran_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


ACCOUNT_FK = "collection_accounts.account_id"


class Appeal(Base):
    __tablename__ = "appeals"
    appeal_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    filed_on: Mapped[date] = mapped_column(sa.Date)
    resolved_on: Mapped[date | None] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.Text, server_default="appeal", default="appeal")  # | dispute (60372(c))


class Extension(Base):
    __tablename__ = "extensions"
    extension_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    granted_on: Mapped[date] = mapped_column(sa.Date)
    until: Mapped[date] = mapped_column(sa.Date)


class MedicalCertification(Base):
    __tablename__ = "medical_certifications"
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), primary_key=True)
    certified_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)


class PaymentPlan(Base):
    __tablename__ = "payment_plans"
    plan_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    agreed_on: Mapped[date] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(sa.Boolean)


class PlanInstallment(Base):
    __tablename__ = "plan_installments"
    __table_args__ = (sa.CheckConstraint("paid >= 0 and paid <= amount", name="plan_installments_paid_within_amount"),)
    plan_id: Mapped[str] = mapped_column(sa.ForeignKey("payment_plans.plan_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY)


class ContactAttempt(Base):
    __tablename__ = "contact_attempts"
    attempt_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    attempted_on: Mapped[date] = mapped_column(sa.Date)
    reached_adult: Mapped[bool] = mapped_column(sa.Boolean)


class WorkOrder(Base):
    """Shutoff, reconnect and notice-posting orders sent to operations, with the outcome operations
    reported; shutoffs done are the H&S 116918 annual count."""
    __tablename__ = "work_orders"
    order_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)  # shutoff | reconnect | post_notice
    ordered_on: Mapped[date] = mapped_column(sa.Date)
    residential: Mapped[bool] = mapped_column(sa.Boolean)
    for_nonpayment: Mapped[bool] = mapped_column(sa.Boolean)
    shutoff_order_id: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="ordered", default="ordered")  # + done |
    # could_not_complete | cancelled (a reconnect whose shutoff was never carried out)
    notice_kind: Mapped[str | None] = mapped_column(sa.Text)
    notice_id: Mapped[str | None] = mapped_column(sa.Text)
    completed_on: Mapped[date | None] = mapped_column(sa.Date)
    outcome_reason: Mapped[str | None] = mapped_column(sa.Text)
    fee_normal_hours: Mapped[Decimal | None] = mapped_column(MONEY)
    fee_after_hours: Mapped[Decimal | None] = mapped_column(MONEY)
    # A reconnect reported done charges one fee through billing (collections.fee_assessed.v1).
    fee_request_id: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    fee_charged: Mapped[Decimal | None] = mapped_column(MONEY)
    fee_after_hours_charged: Mapped[bool | None] = mapped_column(sa.Boolean)
    fee_adjustment_id: Mapped[str | None] = mapped_column(sa.Text)  # billing's adjustment, once posted


class CollectionAction(Base):
    """Every action the engine's decision led to, with the rule that set its date (the audit trail)."""
    __tablename__ = "collection_actions"
    action_id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    business_date: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.Text)
    rule_code: Mapped[str] = mapped_column(sa.Text)
    citation: Mapped[str] = mapped_column(sa.Text)
    reference: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why, where the rule alone does not say (a void notice)


class LatePenaltyRequest(Base):
    """A late penalty collections asked billing to assess (billing computes the amount from the tariff)."""
    __tablename__ = "late_penalty_requests"
    request_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    bill_id: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    assessed_on: Mapped[date] = mapped_column(sa.Date)
    waive_interest: Mapped[bool] = mapped_column(sa.Boolean)


class Adjustment(Base):
    """A ledger adjustment billing posted (billing.adjustment_posted.v1): a charge adds to what is owed."""
    __tablename__ = "adjustments"
    adjustment_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey(ACCOUNT_FK), index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    posted_on: Mapped[date] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.Text)


class Lien(Base):
    """A lien certificate on a parcel (Gov. Code 54984.9)."""
    __tablename__ = "liens"
    lien_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    apn: Mapped[str] = mapped_column(sa.Text, index=True)
    owner_of_record: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    recorded_on: Mapped[date] = mapped_column(sa.Date)
    paid_in_full_on: Mapped[date | None] = mapped_column(sa.Date)
    released_on: Mapped[date | None] = mapped_column(sa.Date)


class TaxRollList(Base):
    """The year's delinquent list for the tax roll and its hearing workflow (H&S 5473)."""
    __tablename__ = "tax_roll_lists"
    tax_year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.Text)
    mailed_on: Mapped[date | None] = mapped_column(sa.Date)
    published_on: Mapped[list[date] | None] = mapped_column(ARRAY(sa.Date))
    hearing_on: Mapped[date | None] = mapped_column(sa.Date)
    filed_on: Mapped[date | None] = mapped_column(sa.Date)


class TaxRollItem(Base):
    __tablename__ = "tax_roll_items"
    tax_year: Mapped[int] = mapped_column(sa.ForeignKey("tax_roll_lists.tax_year"), primary_key=True)
    apn: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    owner_of_record: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    bill_ids: Mapped[list[str]] = mapped_column(ARRAY(sa.Text))
    adjusted_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    protests: Mapped[list[str]] = mapped_column(ARRAY(sa.Text))
    bona_fide_purchaser: Mapped[bool] = mapped_column(sa.Boolean)
    removed: Mapped[str | None] = mapped_column(sa.Text)
