"""Contracts of the collections service: past-due notice requests, daily runs, account status."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cis_contracts.fields import Money, require_positive
from cis_contracts.registry import EVENT, RPC_REQUEST, RPC_RESPONSE, message

ACCOUNT_STATUSES = ("current", "delinquent")
NOTICE_KINDS = ("past_due",)


@message("collections.notice_requested.v1", EVENT,
         "Collections asks for a notice to the customer: bills became past due (one notice per bill, ever).")
class NoticeRequested(Schema):
    notice_id = fields.String(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    amount_past_due = Money(required=True)  # everything past due on the account, not only these bills
    bill_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1))  # newly past due
    oldest_due_on = fields.Date(required=True)  # earliest due date among the account's past-due bills
    requested_on = fields.Date(required=True)


@message("collections.daily_run.v1", RPC_RESPONSE,
         "The daily assessment of one business date (runs once per date; asking again returns the same run).",
         rpc="collections.run_daily")
class DailyRun(Schema):
    business_date = fields.Date(required=True)
    accounts_assessed = fields.Integer(required=True, validate=validate.Range(min=0))
    newly_delinquent = fields.Integer(required=True, validate=validate.Range(min=0))
    notices_requested = fields.Integer(required=True, validate=validate.Range(min=0))


class DeferredAccountSchema(Schema):
    account_id = fields.String(required=True)
    reason = fields.String(required=True)


@message("collections.daily_run.v2", RPC_RESPONSE,
         "One daily run of a business date. The run may be asked again the same day (after a payment or a "
         "returned check): each account action is taken once whatever the number of runs. An account whose "
         "billing events collections has not all applied is deferred (no action on a stale view); an account "
         "whose data breaks the engine is listed in accounts_failed and the run goes on.",
         rpc="collections.run_daily")
class DailyRunV2(DailyRun):
    run_number = fields.Integer(required=True, validate=validate.Range(min=1))  # nth run of the date
    actions_taken = fields.Integer(required=True, validate=validate.Range(min=0))
    accounts_deferred = fields.Integer(required=True, validate=validate.Range(min=0))
    deferred = fields.List(fields.Nested(DeferredAccountSchema), required=True)  # the first 100
    accounts_failed = fields.List(fields.Nested(DeferredAccountSchema), required=True)


class NoticeSummary(Schema):
    notice_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(NOTICE_KINDS))
    requested_on = fields.Date(required=True)
    amount_past_due = Money(required=True)


@message("collections.account_status.v1", RPC_RESPONSE,
         "An account's collections standing on the business date. An account never billed is current.",
         rpc="collections.account_status")
class AccountStatus(Schema):
    account_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ACCOUNT_STATUSES))
    past_due_amount = Money(required=True)
    delinquent_since = fields.Date(required=True, allow_none=True)
    notices_requested = fields.List(fields.Nested(NoticeSummary), required=True)


# --- the California collections timeline (issue 5) ---------------------------------------------------

COLLECTION_NOTICE_KINDS = ("shutoff_notice", "occupant_notice", "tenant_notice", "forty_eight_hour_notice",
                           "plan_default_final_notice")
DELIVERY_METHODS = ("mail", "post_at_premises")


class RuleRef(Schema):
    code = fields.String(required=True)
    citation = fields.String(required=True)  # statute section, e.g. "H&S 116908(a)(1)(A)"


@message("collections.collection_notice_requested.v1", EVENT,
         "Collections asks for a notice on the way to a discontinuation, with every item the law requires "
         "(H&S 116908(a)(1)(C)) and the rule that requires the notice.")
class CollectionNoticeRequested(Schema):
    notice_id = fields.String(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(COLLECTION_NOTICE_KINDS))
    delivery = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    addressee = fields.String(required=True)  # the customer's name, "Occupant", or "Residential occupants"
    address = fields.String(required=True)
    amount_delinquent = Money(required=True)
    shutoff_on = fields.Date(required=True, allow_none=True)  # the earliest discontinuation date announced
    pay_or_arrange_by = fields.Date(required=True, allow_none=True)
    extension_process = fields.String(required=True)
    bill_review_process = fields.String(required=True)
    alternative_payment_process = fields.String(required=True)
    policy_url = fields.String(required=True)
    phone = fields.String(required=True)
    may_become_customer_without_arrears = fields.Boolean(required=True)  # tenant notices (H&S 116916)
    rule = fields.Nested(RuleRef, required=True)
    requested_on = fields.Date(required=True)


@message("collections.shutoff_ordered.v1", EVENT,
         "A work order to discontinue service for nonpayment: seal and lock the meter on the scheduled date.",
         external_queue="operations.work_orders")
class ShutoffOrdered(Schema):
    order_id = fields.String(required=True)
    account_id = fields.String(required=True)
    service_address = fields.String(required=True)
    apn = fields.String(required=True, allow_none=True)
    work = fields.String(required=True, validate=validate.OneOf(("seal_and_lock_meter",)))
    scheduled_on = fields.Date(required=True)
    amount_delinquent = Money(required=True)
    notice_id = fields.String(required=True, allow_none=True)
    rule = fields.Nested(RuleRef, required=True)
    ordered_on = fields.Date(required=True)


@message("collections.reconnect_ordered.v1", EVENT,
         "A work order to restore service (unseal the meter) after payment or an arrangement; cancels the "
         "shutoff order if the crew has not yet acted on it. The fees are for information: the crew collects "
         "nothing; collections charges one of them through billing (collections.fee_assessed.v1) once "
         "operations reports the reconnect done, by the time it was done.",
         external_queue="operations.work_orders")
class ReconnectOrdered(Schema):
    order_id = fields.String(required=True)
    account_id = fields.String(required=True)
    service_address = fields.String(required=True)
    work = fields.String(required=True, validate=validate.OneOf(("unseal_meter",)))
    shutoff_order_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("paid", "arrangement")))
    reconnection_fee_normal_hours = Money(required=True)  # capped for low-income households (H&S 116914)
    reconnection_fee_after_hours = Money(required=True)
    rule = fields.Nested(RuleRef, required=True)
    ordered_on = fields.Date(required=True)


CANCELLED_WORK = ("shutoff", "post_notice")


@message("collections.work_order_cancelled.v1", EVENT,
         "Collections calls off a work order it issued that the crew has not reported done: a shutoff, or a "
         "notice posting, for an account that closed (a closed account is never shut off: the connection may "
         "serve a new customer). Do not carry it out; reason says why.",
         external_queue="operations.work_orders")
class WorkOrderCancelled(Schema):
    order_id = fields.String(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CANCELLED_WORK))
    reason = fields.String(required=True)
    cancelled_on = fields.Date(required=True)
    rule = fields.Nested(RuleRef, required=True)


POSTED_NOTICE_KINDS = ("forty_eight_hour_notice", "final_notice_posting")


@message("collections.notice_posting_ordered.v1", EVENT,
         "A field work order to post a notice at the premises (door hanger): the 48-hour notice (Gov. Code 60373; "
         "H&S 116908(a)(2)) or the plan-default final notice (H&S 116910(b)). The printed notice is notice_id's "
         "document in the mail-house drop. Operations reports the posting back with "
         "operations.work_order_completed.v1 (kind door_hanger_posted); the 48-hour clock starts then.",
         external_queue="operations.work_orders")
class NoticePostingOrdered(Schema):
    order_id = fields.String(required=True)
    account_id = fields.String(required=True)
    notice_kind = fields.String(required=True, validate=validate.OneOf(POSTED_NOTICE_KINDS))
    notice_id = fields.String(required=True, allow_none=True)  # the printed notice to post
    service_address = fields.String(required=True)
    work = fields.String(required=True, validate=validate.OneOf(("post_notice_at_premises",)))
    post_on = fields.Date(required=True)
    shutoff_on = fields.Date(required=True, allow_none=True)  # the earliest discontinuation the notice names
    rule = fields.Nested(RuleRef, required=True)
    ordered_on = fields.Date(required=True)


@message("collections.late_penalty_requested.v1", EVENT,
         "Collections asks billing to assess a late penalty: 'basic' on a bill's current charges the day after "
         "its due date passes unpaid (the reminder day), 'monthly' once a month on the past-due balance. Billing "
         "prices it from the tariff's penalties and posts it (billing.adjustment_posted.v1); request_id makes a "
         "repeat a no-op. waive_interest: the H&S 116914(a)(2) once-every-12-months low-income waiver.")
class LatePenaltyRequested(Schema):
    request_id = fields.String(required=True)  # "LP-<bill_id>-basic" | "LP-<account_id>-<YYYY-MM>"
    account_id = fields.String(required=True)
    bill_id = fields.String(required=True)     # the bill ("basic"), the oldest past-due bill ("monthly")
    kind = fields.String(required=True, validate=validate.OneOf(("basic", "monthly")))
    assessed_on = fields.Date(required=True)
    current_charges = Money(required=True)     # the bill's total ("basic"; 0.00 for "monthly")
    past_due = Money(required=True)            # the unpaid past-due balance ("monthly")
    months = fields.Integer(required=True, validate=validate.Range(min=1))
    waive_interest = fields.Boolean(required=True)
    rule = fields.String(required=True)        # the citation or policy that set it


FEE_KINDS = ("reconnection",)


@message("collections.fee_assessed.v1", EVENT,
         "Collections charges a fee through billing: a reconnection fee once operations reported the meter "
         "unsealed (a reconnect never carried out charges nothing), normal or after hours by the time it was "
         "done, capped for a low-income household (H&S 116914(a)(1)). Billing posts it as a 'fee' adjustment "
         "(billing.adjustment_posted.v1, reference = request_id); request_id makes a repeat a no-op.")
class FeeAssessed(Schema):
    request_id = fields.String(required=True, validate=validate.Length(min=1, max=100))  # "RF-<work_order_id>"
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(FEE_KINDS))
    amount = Money(required=True, validate=require_positive)
    assessed_on = fields.Date(required=True)
    after_hours = fields.Boolean(required=True)
    work_order_id = fields.String(required=True)
    reason = fields.String(required=True)  # what the customer reads on the statement
    rule = fields.Nested(RuleRef, required=True)


class ScheduledAction(Schema):
    kind = fields.String(required=True)
    on = fields.Date(required=True)
    rule = fields.Nested(RuleRef, required=True)


class BlockSchema(Schema):
    rule = fields.Nested(RuleRef, required=True)
    detail = fields.String(required=True)
    until = fields.Date(required=True, allow_none=True)


@message("collections.collections_status.v1", RPC_RESPONSE,
         "An account's place on the collections timeline: what is due today, why, what comes next, and what "
         "blocks a discontinuation. Also the answer to every staff recording call.",
         rpc="collections.collections_status")
class CollectionsStatus(Schema):
    account_id = fields.String(required=True)
    business_date = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ACCOUNT_STATUSES))
    past_due_amount = Money(required=True)
    oldest_due_on = fields.Date(required=True, allow_none=True)
    disconnected = fields.Boolean(required=True)
    shutoff_on = fields.Date(required=True, allow_none=True)
    shutoff_set_by = fields.List(fields.Nested(RuleRef), required=True)
    due_today = fields.List(fields.Nested(ScheduledAction), required=True)
    upcoming = fields.List(fields.Nested(ScheduledAction), required=True)
    blocked_by = fields.List(fields.Nested(BlockSchema), required=True)


class WorklistItem(ScheduledAction):
    account_id = fields.String(required=True)


@message("collections.worklist.v1", RPC_RESPONSE,
         "Staff tasks for a business date (contact attempts, door hangers, notices, shutoffs), each with its rule.",
         rpc="collections.worklist")
class Worklist(Schema):
    business_date = fields.Date(required=True)
    items = fields.List(fields.Nested(WorklistItem), required=True)


class DueAction(ScheduledAction):
    why = fields.String(required=True)  # the rule's summary, in words staff can read to the customer


class WorklistAccount(Schema):
    account_id = fields.String(required=True)
    customer_name = fields.String(required=True)
    service_address = fields.String(required=True)
    past_due_amount = Money(required=True)
    disconnected = fields.Boolean(required=True)
    shutoff_on = fields.Date(required=True, allow_none=True)  # the earliest lawful shutoff, if one is planned
    shutoff_set_by = fields.List(fields.Nested(RuleRef), required=True)
    due = fields.List(fields.Nested(DueAction), required=True)
    blocked_by = fields.List(fields.Nested(BlockSchema), required=True)


@message("collections.worklist.v2", RPC_RESPONSE,
         "The staff worklist for a business date, by account: what is due (on or before the date), why (the rule, "
         "its section and what it says), and what blocks a shutoff (appeal, extension, medical certification, "
         "plan). Accounts with something due come first, then accounts held by a block.",
         rpc="collections.worklist_v2")
class WorklistV2(Schema):
    business_date = fields.Date(required=True)
    accounts = fields.List(fields.Nested(WorklistAccount), required=True)


class _AccountRequest(Schema):
    account_id = fields.String(required=True, validate=validate.Length(min=1))


@message("collections.record_appeal_request.v1", RPC_REQUEST,
         "An appeal, bill review or dispute was filed (no shutoff while pending, Gov. Code 60372); "
         "give resolved_on to close it.", rpc="collections.record_appeal")
class RecordAppealRequest(_AccountRequest):
    filed_on = fields.Date(load_default=None, allow_none=True)      # default: the business date
    resolved_on = fields.Date(load_default=None, allow_none=True)


@message("collections.grant_extension_request.v1", RPC_REQUEST,
         "An extension of time to pay was granted until a date (Gov. Code 60372).", rpc="collections.grant_extension")
class GrantExtensionRequest(_AccountRequest):
    until = fields.Date(required=True)


@message("collections.record_medical_certification_request.v1", RPC_REQUEST,
         "A primary care provider's certification and the customer's financial inability (H&S 116910(a)).",
         rpc="collections.record_medical_certification")
class RecordMedicalCertificationRequest(_AccountRequest):
    certified_on = fields.Date(required=True)
    expires_on = fields.Date(load_default=None, allow_none=True)
    financially_unable = fields.Boolean(required=True)


@message("collections.agree_payment_plan_request.v1", RPC_REQUEST,
         "The customer agreed to amortize the unpaid balance in monthly installments (at most 12, Gov. Code 60372).",
         rpc="collections.agree_payment_plan")
class AgreePaymentPlanRequest(_AccountRequest):
    months = fields.Integer(required=True, validate=validate.Range(min=1, max=12))
    first_due_on = fields.Date(required=True)


@message("collections.record_contact_attempt_request.v1", RPC_REQUEST,
         "Staff tried to reach an adult at the premises by phone or in person (Gov. Code 60373).",
         rpc="collections.record_contact_attempt")
class RecordContactAttemptRequest(_AccountRequest):
    reached_adult = fields.Boolean(required=True)
    attempted_on = fields.Date(load_default=None, allow_none=True)


REQUESTED_ON_NOTE = "requested_on: the day the customer asked (default the business date; never later)."


@message("collections.record_appeal_request.v2", RPC_REQUEST,
         "A customer's challenge, recorded by staff (no shutoff while it is pending). kind 'dispute': a complaint "
         "about a bill under Gov. Code 60372(c), in time only within 5 days of receiving the bill (taken as 5 days "
         "after its mailing); 'appeal': a petition for bill review and appeal under the District's written policy "
         "(H&S 116906, 116908), which the law sets no window for. Give resolved_on to close the pending ones.",
         rpc="collections.record_appeal")
class RecordAppealRequestV2(_AccountRequest):
    kind = fields.String(load_default="dispute", validate=validate.OneOf(("dispute", "appeal")))
    filed_on = fields.Date(load_default=None, allow_none=True)      # default: the business date
    resolved_on = fields.Date(load_default=None, allow_none=True)


@message("collections.grant_extension_request.v2", RPC_REQUEST,
         "An extension of time to pay granted until a date (Gov. Code 60372(b)(2)); the request must have been made "
         "within 13 days of the mailing of the shutoff notice (Gov. Code 60372(c)). " + REQUESTED_ON_NOTE,
         rpc="collections.grant_extension")
class GrantExtensionRequestV2(_AccountRequest):
    until = fields.Date(required=True)
    requested_on = fields.Date(load_default=None, allow_none=True)


@message("collections.agree_payment_plan_request.v2", RPC_REQUEST,
         "The customer agreed to amortize the unpaid balance in monthly installments (at most 12, Gov. Code 60372); "
         "asked for within 13 days of the mailing of the shutoff notice (Gov. Code 60372(c)), unless a medical "
         "certification with financial inability is on record (H&S 116910(a) requires the plan be offered). "
         + REQUESTED_ON_NOTE, rpc="collections.agree_payment_plan")
class AgreePaymentPlanRequestV2(_AccountRequest):
    months = fields.Integer(required=True, validate=validate.Range(min=1, max=12))
    first_due_on = fields.Date(required=True)
    requested_on = fields.Date(load_default=None, allow_none=True)


LOW_INCOME_EVIDENCE = ("calworks", "calfresh", "general_assistance", "medi_cal", "ssi_ssp", "wic",
                       "income_below_200_percent_fpl")


@message("collections.set_account_flags_request.v1", RPC_REQUEST,
         "Staff record facts collections cannot learn from accounts: a tenant-occupied single-family rental whose "
         "owner is the customer (tenant notices, H&S 116916; Gov. Code 60371), and a low-income household "
         "(H&S 116914(b): a member receives CalWORKs, CalFresh, general assistance, Medi-Cal, SSI/SSP or WIC, or "
         "household income below 200% of the federal poverty line) with the evidence seen and the day it was "
         "verified. Omitted flags are left as they are.", rpc="collections.set_account_flags")
class SetAccountFlagsRequest(_AccountRequest):
    tenant_occupied = fields.Boolean(load_default=None, allow_none=True)
    low_income = fields.Boolean(load_default=None, allow_none=True)
    low_income_evidence = fields.String(load_default=None, allow_none=True,
                                        validate=validate.OneOf(LOW_INCOME_EVIDENCE))
    low_income_verified_on = fields.Date(load_default=None, allow_none=True)
    changed_by = fields.String(required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _evidence_for_low_income(self, data, **kwargs):
        if data.get("low_income"):
            missing = {name: ["Required when low_income is true (H&S 116914(b))."]
                       for name in ("low_income_evidence", "low_income_verified_on") if not data.get(name)}
            if missing:
                raise ValidationError(missing)


@message("collections.discontinuation_count.v1", RPC_RESPONSE,
         "Residential discontinuations for nonpayment in a calendar year, for the website and the State Water "
         "Board (H&S 116918).", rpc="collections.discontinuation_count")
class DiscontinuationCount(Schema):
    year = fields.Integer(required=True)
    residential_discontinuations_for_nonpayment = fields.Integer(required=True, validate=validate.Range(min=0))


# --- liens and the tax-roll delinquent list ----------------------------------------------------------

@message("collections.lien_recorded.v1", EVENT,
         "A lien certificate for unpaid charges on a parcel, to be recorded with the county (Gov. Code 54984.9).",
         external_queue="county.recorder")
class LienRecorded(Schema):
    lien_id = fields.String(required=True)
    apn = fields.String(required=True)
    owner_of_record = fields.String(required=True)
    amount = Money(required=True)
    recorded_on = fields.Date(required=True)


@message("collections.lien_released.v1", EVENT,
         "A release of a recorded lien: the charges are paid in full (due within 30 days, Gov. Code 54984.9).",
         external_queue="county.recorder")
class LienReleased(Schema):
    lien_id = fields.String(required=True)
    apn = fields.String(required=True)
    owner_of_record = fields.String(required=True)
    paid_in_full_on = fields.Date(required=True)
    released_on = fields.Date(required=True)


@message("collections.record_liens_request.v1", RPC_REQUEST,
         "Record liens on every parcel whose charges are delinquent at least min_days_delinquent days "
         "(parcels with an open lien are skipped).", rpc="collections.record_liens")
class RecordLiensRequest(Schema):
    min_days_delinquent = fields.Integer(required=True, validate=validate.Range(min=60))


class LienSchema(Schema):
    lien_id = fields.String(required=True)
    apn = fields.String(required=True)
    owner_of_record = fields.String(required=True)
    amount = Money(required=True)
    recorded_on = fields.Date(required=True)
    paid_in_full_on = fields.Date(required=True, allow_none=True)
    released_on = fields.Date(required=True, allow_none=True)


@message("collections.liens.v1", RPC_RESPONSE, "Liens, newest first.", rpc="collections.record_liens")
class Liens(Schema):
    liens = fields.List(fields.Nested(LienSchema), required=True)


@message("collections.prepare_delinquent_list_request.v1", RPC_REQUEST,
         "Build the year's delinquent list for the tax roll from charges unpaid as of a date (H&S 5473).",
         rpc="collections.prepare_delinquent_list")
class PrepareDelinquentListRequest(Schema):
    tax_year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    as_of = fields.Date(required=True)
    min_days_delinquent = fields.Integer(required=True, validate=validate.Range(min=60))
    bona_fide_purchaser_apns = fields.List(fields.String(), load_default=list)


@message("collections.delinquent_list_step_request.v1", RPC_REQUEST,
         "One step of the hearing workflow: notice (mailed_on, published_on x2, hearing_on), protest (apn, "
         "protest), hearing (held_on, adjustments by APN), file (filed_on: items paid since are removed).",
         rpc="collections.delinquent_list_step")
class DelinquentListStepRequest(Schema):
    tax_year = fields.Integer(required=True)
    step = fields.String(required=True, validate=validate.OneOf(("notice", "protest", "hearing", "file")))
    mailed_on = fields.Date(load_default=None, allow_none=True)
    published_on = fields.List(fields.Date(), load_default=None, allow_none=True, validate=validate.Length(equal=2))
    hearing_on = fields.Date(load_default=None, allow_none=True)
    apn = fields.String(load_default=None, allow_none=True)
    protest = fields.String(load_default=None, allow_none=True)
    held_on = fields.Date(load_default=None, allow_none=True)
    adjustments = fields.Dict(keys=fields.String(), values=Money(), load_default=dict)
    filed_on = fields.Date(load_default=None, allow_none=True)


class RollItemSchema(Schema):
    apn = fields.String(required=True)
    owner_of_record = fields.String(required=True)
    amount = Money(required=True)
    adjusted_amount = Money(required=True, allow_none=True)
    bill_ids = fields.List(fields.String(), required=True)
    protests = fields.List(fields.String(), required=True)
    roll = fields.String(required=True, validate=validate.OneOf(("secured", "unsecured")))
    removed = fields.String(required=True, allow_none=True)


@message("collections.delinquent_list.v1", RPC_RESPONSE,
         "The year's delinquent list, its hearing workflow dates and, once filed, the county auditor file lines.",
         rpc="collections.delinquent_list_step")
class DelinquentListSchema(Schema):
    tax_year = fields.Integer(required=True)
    as_of = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("draft", "noticed", "heard", "filed")))
    filing_deadline = fields.Date(required=True)
    mailed_on = fields.Date(required=True, allow_none=True)
    published_on = fields.List(fields.Date(), required=True)
    hearing_on = fields.Date(required=True, allow_none=True)
    filed_on = fields.Date(required=True, allow_none=True)
    items = fields.List(fields.Nested(RollItemSchema), required=True)
    auditor_file = fields.String(required=True, allow_none=True)  # CSV for the county auditor, once filed
