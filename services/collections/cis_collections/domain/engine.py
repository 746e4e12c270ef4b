"""The collections engine: an account's state and the District calendar -> the next collection actions.

Pure: no clock, no I/O. `decide` proposes every next action with its date and the rule that set
the date; actions whose date has come are due. `record_done` writes an action's outcome back into
the state (the service layer calls it once the action is carried out, e.g. a notice requested).

A notice counts when it is given, not when it is requested: `record_given` writes the date the mail
house mailed a letter or field staff posted a notice at the premises, and every timing rule counts
from that date. Until then the engine plans with the expected date (today at the earliest) and no
shutoff is due.

The shutoff date is the latest of all statutory floors (taking the stricter of H&S 116900+ and
Gov. Code 60370+), then moved to a business day (Gov. Code 60374). A shutoff is due only when every
prerequisite (written notice, Occupant copy, tenant notice, 48-hour contact or door hanger) is
on record and nothing blocks it (appeal, extension, protections, a plan in good standing).
"""
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from cis_collections.domain import rules
from cis_runtime.errors import InvalidInput
from cis_collections.domain.calendar import DistrictCalendar
from cis_collections.domain.policy import (STATUTORY_MAIL_GRACE_DAYS, STATUTORY_MIN_CONTACT_HOURS,
                                           STATUTORY_MIN_DAYS_AFTER_BILL_TO_MAIL,
                                           STATUTORY_MIN_NOTICE_DAYS_AFTER_GRACE, CollectionsPolicy)

ZERO = Decimal("0.00")
CONTACT_LEAD = timedelta(hours=STATUTORY_MIN_CONTACT_HOURS)  # counted in whole days: 2 days

# Action kinds (also the notice kinds notifications sends, and the work orders operations receives).
PAST_DUE_REMINDER = "past_due_reminder"
LATE_PENALTY = "late_penalty"  # a request to billing, which prices it from the tariff
SHUTOFF_NOTICE = "shutoff_notice"
OCCUPANT_NOTICE = "occupant_notice"
TENANT_NOTICE = "tenant_notice"
CONTACT_ATTEMPT = "contact_attempt"
FORTY_EIGHT_HOUR_NOTICE = "forty_eight_hour_notice"
PLAN_DEFAULT_FINAL_NOTICE = "plan_default_final_notice"
FINAL_NOTICE_POSTING = "final_notice_posting"  # the plan-default final notice posted at the property
SHUTOFF = "shutoff"
RECONNECT = "reconnect"
WRITE_OFF = "write_off"
VOID_NOTICE = "shutoff_notice_void"  # a notice on record that does not count (mailed too early)

MAILED_NOTICES = (SHUTOFF_NOTICE, OCCUPANT_NOTICE, TENANT_NOTICE, PLAN_DEFAULT_FINAL_NOTICE)
POSTED_NOTICES = (FORTY_EIGHT_HOUR_NOTICE, FINAL_NOTICE_POSTING)  # field work orders (door hangers)

log = logging.getLogger(__name__)


# --- the account's state ---------------------------------------------------------------------------

DELIVERED_ON_ISSUE = date.min  # a Bill built without delivered_on was delivered the day it was issued


@dataclass
class Bill:
    bill_id: str
    amount: Decimal
    issued_on: date
    due_on: date
    paid: Decimal = ZERO
    final: bool = False          # the closing bill of an account
    reminded: bool = False       # a past-due reminder was requested for it
    written_off: bool = False
    adjustment: bool = False     # a charge billing posted (a late penalty): owed, but never a reason to shut off
    # The day the bill reached the customer (mailed, or emailed to a paperless customer); None: never delivered.
    # Every period counted from a bill counts from it (Gov. Code 60373(a)); an undelivered bill starts nothing.
    delivered_on: date | None = DELIVERED_ON_ISSUE

    def __post_init__(self):
        if self.delivered_on == DELIVERED_ON_ISSUE:
            self.delivered_on = self.issued_on

    @property
    def unpaid(self) -> Decimal:
        return ZERO if self.written_off else self.amount - self.paid

    def delivered(self, today: date) -> bool:
        return self.delivered_on is not None and self.delivered_on <= today

    def past_due(self, today: date) -> bool:
        """Past due once its due date passed unpaid, and only if the customer got the bill."""
        return self.unpaid > 0 and self.due_on < today and self.delivered(today)

    @property
    def delinquent_since(self) -> date:
        return self.due_on + timedelta(days=1)


@dataclass
class Installment:
    due_on: date
    amount: Decimal
    paid: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid


@dataclass
class PaymentPlan:
    plan_id: str
    agreed_on: date
    installments: list[Installment]

    @property
    def completed(self) -> bool:
        return all(i.unpaid <= 0 for i in self.installments)


@dataclass
class Appeal:
    filed_on: date
    resolved_on: date | None = None

    def pending_on(self, day: date) -> bool:
        return self.filed_on <= day and (self.resolved_on is None or day < self.resolved_on)


@dataclass
class Extension:
    granted_on: date
    until: date  # no shutoff on or before this date

    def in_effect_on(self, day: date) -> bool:
        return self.granted_on <= day <= self.until


@dataclass
class MedicalCertification:
    certified_on: date
    expires_on: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.certified_on <= day and (self.expires_on is None or day <= self.expires_on)


@dataclass
class ContactAttempt:
    on: date
    reached_adult: bool


@dataclass
class ShutoffNoticeRecord:
    """A written notice of delinquency and impending discontinuation: requested, then mailed."""
    notice_id: str
    requested_on: date
    mailed_on: date | None     # the day the mail house mailed it; None while it is on its way
    shutoff_on: date
    amount: Decimal
    bill_ids: tuple[str, ...]
    occupant_copy_requested: bool = False
    occupant_copy_on: date | None = None  # the day the copy to "Occupant" was mailed


@dataclass
class AccountState:
    account_id: str
    customer_name: str = ""
    mailing_address: str = ""
    service_address: str = ""
    residential: bool = True
    landlord_of_record: bool = False     # owner/landlord is the customer, occupants are tenants
    low_income: bool = False             # household income < 200% FPL (H&S 116914(b))
    financially_unable: bool = False     # H&S 116910(a)(2)
    bills: list[Bill] = field(default_factory=list)
    payment_plan: PaymentPlan | None = None
    appeals: list[Appeal] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    medical_certification: MedicalCertification | None = None
    contact_attempts: list[ContactAttempt] = field(default_factory=list)
    shutoff_notice: ShutoffNoticeRecord | None = None
    tenant_notice_requested_on: date | None = None
    tenant_notice_on: date | None = None              # mailed
    door_hanger_ordered_on: date | None = None        # the 48-hour notice ordered posted
    forty_eight_hour_notice_on: date | None = None    # posted at the premises
    final_notice_requested_on: date | None = None     # the plan-default final notice (H&S 116910(b))
    final_notice_mailed_on: date | None = None
    final_notice_posting_ordered_on: date | None = None
    final_notice_posted_on: date | None = None
    shutoff_ordered_on: date | None = None
    reconnect_ordered_on: date | None = None
    last_interest_waiver_on: date | None = None
    last_monthly_penalty_on: date | None = None
    closed_on: date | None = None  # the account was closed (moved out): its balance follows the final-bill path

    @property
    def mailing_differs(self) -> bool:
        return bool(self.mailing_address) and self.mailing_address.strip() != self.service_address.strip()

    @property
    def disconnected(self) -> bool:
        return self.shutoff_ordered_on is not None and self.reconnect_ordered_on is None


# --- the engine's answer ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    kind: str
    on: date
    rule: rules.Rule
    detail: dict = field(default_factory=dict)

    def due(self, today: date) -> bool:
        return self.on <= today


@dataclass(frozen=True)
class Block:
    rule: rules.Rule
    detail: str
    until: date | None = None


@dataclass(frozen=True)
class Decision:
    account_id: str
    past_due_amount: Decimal
    oldest_due_on: date | None
    actions: tuple[Action, ...]
    blocks: tuple[Block, ...]
    shutoff_on: date | None            # the planned discontinuation date, if one is in prospect
    shutoff_set_by: tuple[rules.Rule, ...]  # the rule(s) that set that date

    @property
    def status(self) -> str:
        return "delinquent" if self.past_due_amount > 0 else "current"

    def due_actions(self, today: date) -> list[Action]:
        return [a for a in self.actions if a.due(today)]


@dataclass
class _Floor:
    """The latest of several dates, remembering which rule set it."""
    on: date
    rules_: list[rules.Rule]

    def at_least(self, day: date, rule: rules.Rule) -> None:
        if day > self.on:
            self.on, self.rules_ = day, [rule]
        elif day == self.on and rule not in self.rules_:
            self.rules_.append(rule)


def decide(state: AccountState, today: date, calendar: DistrictCalendar, policy: CollectionsPolicy) -> Decision:
    past_due = sorted((b for b in state.bills if b.past_due(today)), key=lambda b: (b.due_on, b.bill_id))
    amount = sum((b.unpaid for b in past_due), ZERO)
    actions = _void_actions(state, today)
    actions += _reminder_actions(state, past_due, amount, today, policy)
    actions += _monthly_penalty_actions(state, today, policy)
    actions += _write_off_actions(state, today, policy)
    blocks: list[Block] = []
    shutoff_on, set_by = None, ()
    if state.disconnected:
        actions += _reconnect_actions(state, past_due, today, policy)
    elif state.closed_on is None:
        # A final bill belongs to a closed account, and a closed account's bills (every one of them) have no
        # service left to discontinue: the connection may serve a new customer. They go to write-off (or the
        # lien and tax-roll path) instead.
        # A posted penalty is owed (and in the amount), but only an unpaid bill starts the clocks.
        pursued = [b for b in past_due if not b.final]
        pursued_bills = [b for b in pursued if not b.adjustment]
        pursued_amount = sum((b.unpaid for b in pursued), ZERO)
        if pursued_bills and pursued_amount >= policy.minimum_shutoff_amount:
            blocks = _blocks(state, today, policy)
            if not blocks:
                path = _plan_default_path if _plan_default_on(state, today, policy) else _written_notice_path
                shutoff_actions, shutoff_on, set_by = path(state, pursued_bills, pursued_amount, today, calendar,
                                                           policy)
                actions += shutoff_actions
    return Decision(state.account_id, amount, past_due[0].due_on if past_due else None, tuple(actions),
                    tuple(blocks), shutoff_on, tuple(set_by))


# --- reminders, late charges, write-offs -----------------------------------------------------------

def _reminder_actions(state, past_due, amount, today, policy) -> list[Action]:
    unreminded = [b for b in past_due if not b.reminded and not b.adjustment]
    if not unreminded:
        return []
    on = max(b.due_on for b in unreminded) + timedelta(days=policy.reminder_days_after_due)
    detail = {"bill_ids": tuple(b.bill_id for b in unreminded), "amount_past_due": amount,
              "oldest_due_on": past_due[0].due_on}
    actions = [Action(PAST_DUE_REMINDER, on, rules.PAST_DUE_REMINDER, detail)]
    # The basic penalty on each bill's current charges, once, with its reminder (billing sets the amount).
    actions += [Action(LATE_PENALTY, on, rules.LATE_PENALTY,
                       {"kind": "basic", "bill_id": b.bill_id, "current_charges": b.amount, "past_due": b.unpaid,
                        "waive_interest": False}) for b in unreminded]
    return actions


def _monthly_penalty_actions(state: AccountState, today: date, policy: CollectionsPolicy) -> list[Action]:
    """Once a calendar month, a penalty on the balance past due at least `monthly_penalty_after_days`
    (penalties themselves excluded: no penalty on a penalty). It is interest: a low-income household's
    is waived once every 12 months (H&S 116914(a)(2))."""
    after = timedelta(days=policy.monthly_penalty_after_days)
    aged = sorted((b for b in state.bills if b.unpaid > 0 and not b.adjustment and b.due_on + after <= today
                   and b.delivered(today)),
                  key=lambda b: (b.due_on, b.bill_id))
    last = state.last_monthly_penalty_on
    if not aged or (last is not None and (last.year, last.month) == (today.year, today.month)):
        return []
    on = max(today.replace(day=1), aged[0].due_on + after)
    waive = state.low_income and interest_waiver_available(state.last_interest_waiver_on, on)
    return [Action(LATE_PENALTY, on, rules.LOW_INCOME_INTEREST_WAIVER if waive else rules.LATE_PENALTY,
                   {"kind": "monthly", "bill_id": aged[0].bill_id, "current_charges": ZERO,
                    "past_due": sum((b.unpaid for b in aged), ZERO), "waive_interest": waive})]


def _write_off_actions(state, today, policy) -> list[Action]:
    """A final bill, or any bill of a closed account, unpaid the policy's period after it fell due."""
    closed = state.closed_on is not None
    return [Action(WRITE_OFF, b.due_on + timedelta(days=policy.write_off_days_after_final_due), rules.WRITE_OFF,
                   {"bill_id": b.bill_id, "amount": b.unpaid})
            for b in state.bills if (b.final or closed) and b.unpaid > 0 and b.past_due(today)
            and b.due_on + timedelta(days=policy.write_off_days_after_final_due) <= today]


def _void_actions(state: AccountState, today: date) -> list[Action]:
    """A notice on record (migrated, recorded by staff) mailed earlier than 19 days after the mailing of a bill
    it names does not count (Gov. Code 60373(a)): it is void, and the engine plans a lawful notice instead."""
    reason = premature_notice_reason(state)
    if reason is None:
        return []
    return [Action(VOID_NOTICE, today, rules.NOT_BEFORE_19_DAYS_AFTER_BILL,
                   {"notice_id": state.shutoff_notice.notice_id, "reason": reason})]


def premature_notice_reason(state: AccountState) -> str | None:
    notice = state.shutoff_notice
    if notice is None or notice.mailed_on is None:
        return None
    for bill in state.bills:
        if bill.bill_id not in notice.bill_ids or bill.adjustment:
            continue
        if bill.delivered_on is None:
            return (f"notice {notice.notice_id} mailed {notice.mailed_on} names bill {bill.bill_id}, which was "
                    f"never mailed ({rules.NOT_BEFORE_19_DAYS_AFTER_BILL.citation}): void")
        earliest = bill.delivered_on + timedelta(days=STATUTORY_MIN_DAYS_AFTER_BILL_TO_MAIL)
        if notice.mailed_on < earliest:
            return (f"notice {notice.notice_id} mailed {notice.mailed_on}, earlier than "
                    f"{STATUTORY_MIN_DAYS_AFTER_BILL_TO_MAIL} days after bill {bill.bill_id} was mailed on "
                    f"{bill.delivered_on} ({rules.NOT_BEFORE_19_DAYS_AFTER_BILL.citation}): void")
    return None


# --- what stops a shutoff --------------------------------------------------------------------------

def _blocks(state: AccountState, today: date, policy: CollectionsPolicy) -> list[Block]:
    blocks = [Block(rules.NO_SHUTOFF_DURING_APPEAL, f"appeal filed {a.filed_on} is pending")
              for a in state.appeals if a.pending_on(today)]
    blocks += [Block(rules.NO_SHUTOFF_DURING_EXTENSION, f"extension granted to {e.until}", e.until)
               for e in state.extensions if e.in_effect_on(today)]
    plan = state.payment_plan
    if plan is not None and not plan.completed and plan.agreed_on <= today:
        if _plan_default_on(state, today, policy) is None:
            cert = state.medical_certification
            if cert is not None and cert.valid_on(today) and state.financially_unable:
                blocks.append(Block(rules.MEDICAL_PROTECTION,
                                    "medical certification, financial inability and a payment plan"))
            else:
                blocks.append(Block(rules.PAYMENT_PLAN_IN_GOOD_STANDING, f"payment plan {plan.plan_id} is current"))
    return blocks


def _plan_default_on(state: AccountState, today: date, policy: CollectionsPolicy) -> date | None:
    """The date the plan went into default (H&S 116910(b)), or None while it is kept."""
    plan = state.payment_plan
    if plan is None or plan.completed or plan.agreed_on > today:
        return None
    days = timedelta(days=policy.plan_default_days)
    late_installments = [i.due_on + days for i in plan.installments if i.unpaid > 0 and i.due_on + days <= today]
    late_current = [b.due_on + days for b in state.bills if not b.adjustment and b.delivered(today)
                    and b.issued_on >= plan.agreed_on and b.unpaid > 0 and b.due_on + days <= today]
    candidates = late_installments + late_current
    return min(candidates) if candidates else None


# --- the written-notice path (H&S 116908, Gov. Code 60373, 60371/116916, 60374) -----------------------

def _valid_notice(state: AccountState) -> ShutoffNoticeRecord | None:
    """The mailed notice still stands unless its bills were paid or a block began after it was mailed."""
    notice = state.shutoff_notice
    if notice is None or premature_notice_reason(state) is not None:
        return None
    unpaid_ids = {b.bill_id for b in state.bills if b.unpaid > 0}
    if not unpaid_ids.intersection(notice.bill_ids):
        return None
    interruptions = [a.filed_on for a in state.appeals] + [e.granted_on for e in state.extensions]
    if state.payment_plan is not None:
        interruptions.append(state.payment_plan.agreed_on)
    if any(day >= notice.requested_on for day in interruptions):
        return None
    return notice


def _written_notice_path(state, past_due, amount, today, calendar, policy):
    notice = _valid_notice(state)
    actions: list[Action] = []
    if notice is None:
        mail_floor = _Floor(today, [rules.SEVEN_BUSINESS_DAYS_NOTICE])
        mail_floor.at_least(past_due[0].due_on + timedelta(days=policy.shutoff_notice_days_after_due),
                            rules.SEVEN_BUSINESS_DAYS_NOTICE)
        last_mailed = max(b.delivered_on for b in past_due)  # Gov. Code 60373(a): from the bill's mailing
        mail_floor.at_least(last_mailed + timedelta(days=STATUTORY_MIN_DAYS_AFTER_BILL_TO_MAIL),
                            rules.NOT_BEFORE_19_DAYS_AFTER_BILL)
        mailed_on = given_on = calendar.business_day_on_or_after(mail_floor.on)
        mail_rule = mail_floor.rules_[-1]
        tenant_on = mailed_on
    else:
        mailed_on = _given_or_expected(notice.mailed_on, notice.requested_on, today)
        given_on = mailed_on
        if state.mailing_differs:  # the copy to "Occupant" is a mailed notice too: count from the later one
            copy_requested_on = notice.requested_on if notice.occupant_copy_requested else today
            given_on = max(given_on, _given_or_expected(notice.occupant_copy_on, copy_requested_on, today))
        tenant_requested_on = state.tenant_notice_requested_on or today
        tenant_on = _given_or_expected(state.tenant_notice_on, tenant_requested_on, today)
    floor = _statutory_shutoff_floor(past_due, given_on, calendar, policy)
    if notice is not None and notice.shutoff_on > floor.on:  # never before the date the notice announced
        floor.at_least(notice.shutoff_on, rules.SEVEN_BUSINESS_DAYS_NOTICE)
    if state.landlord_of_record:
        floor.at_least(tenant_on + timedelta(days=policy.tenant_notice_days_before_shutoff), rules.TENANT_TEN_DAYS)
    shutoff_on, set_by = _contact_and_business_day(state, floor, mailed_on, today, calendar, policy, actions)
    if notice is None:
        detail = {"amount": amount, "bill_ids": tuple(b.bill_id for b in past_due), "shutoff_on": shutoff_on,
                  "content": notice_content(state, amount, shutoff_on, calendar, policy)}
        actions.append(Action(SHUTOFF_NOTICE, mailed_on, mail_rule, detail))
    if state.mailing_differs and (notice is None or not notice.occupant_copy_requested):
        actions.append(Action(OCCUPANT_NOTICE, mailed_on, rules.OCCUPANT_COPY,
                              {"addressee": "Occupant", "address": state.service_address, "shutoff_on": shutoff_on}))
    if state.landlord_of_record and (notice is None or state.tenant_notice_requested_on is None):
        actions.append(Action(TENANT_NOTICE, mailed_on, rules.TENANT_TEN_DAYS,
                              {"address": state.service_address, "shutoff_on": shutoff_on,
                               "may_become_customer_without_arrears": True}))
    if notice is not None and _prerequisites_met(state, notice, shutoff_on):
        actions.append(_shutoff_action(shutoff_on, today, calendar, set_by,
                                       {"amount": amount, "notice_id": notice.notice_id}))
    return actions, shutoff_on, set_by


def _statutory_shutoff_floor(past_due, mailed_on, calendar, policy) -> _Floor:
    floor = _Floor(past_due[0].delinquent_since + timedelta(days=policy.days_delinquent_before_shutoff),
                   [rules.MIN_60_DAYS_DELINQUENT])
    floor.at_least(calendar.add_business_days(mailed_on, policy.notice_business_days_before_shutoff),
                   rules.SEVEN_BUSINESS_DAYS_NOTICE)
    floor.at_least(mailed_on + timedelta(days=STATUTORY_MAIL_GRACE_DAYS + STATUTORY_MIN_NOTICE_DAYS_AFTER_GRACE),
                   rules.TEN_DAYS_AFTER_FIVE_DAY_MAILING)
    return floor


def _contact_and_business_day(state, floor: _Floor, since: date, today, calendar, policy, actions):
    """Add the 48-hour contact (Gov. Code 60373) to the floor, plan the attempt and door hanger, and
    move the date to a business day (Gov. Code 60374)."""
    contacted = _last_adult_contact(state, since)
    announced: list[dict] = []  # details of notices planned here, which print the shutoff date
    if contacted is not None:
        floor.at_least(contacted + CONTACT_LEAD, rules.FORTY_EIGHT_HOUR_CONTACT)
    else:
        base = calendar.business_day_on_or_after(floor.on)
        attempt_on = _business_days_before(calendar, base, policy.contact_business_days_before_shutoff)
        failed = [a for a in state.contact_attempts if a.on >= since and not a.reached_adult]
        if not failed and attempt_on < today:
            attempt_on = calendar.business_day_on_or_after(today)  # late: try today, the date moves
        if not failed:
            actions.append(Action(CONTACT_ATTEMPT, attempt_on, rules.FORTY_EIGHT_HOUR_CONTACT,
                                  {"reach": "an adult at the premises, by phone or in person"}))
        if state.forty_eight_hour_notice_on is not None and state.forty_eight_hour_notice_on >= since:
            posted_on = state.forty_eight_hour_notice_on
        elif state.door_hanger_ordered_on is not None:  # field staff have the order: posted today at the earliest
            posted_on = calendar.business_day_on_or_after(max(state.door_hanger_ordered_on, today))
        else:
            # After a failed attempt the door hanger goes up that day; otherwise the business day after
            # the planned attempt, when the attempt will have had its chance.
            posted_on = failed[-1].on if failed else calendar.add_business_days(attempt_on, 1)
            posted_on = calendar.business_day_on_or_after(max(posted_on, today))
            announced.append({"when": "no adult reached", "leave": "notice of imminent discontinuation and the "
                              "policy at the premises"})
            actions.append(Action(FORTY_EIGHT_HOUR_NOTICE, posted_on, rules.FORTY_EIGHT_HOUR_CONTACT, announced[-1]))
        floor.at_least(posted_on + CONTACT_LEAD, rules.FORTY_EIGHT_HOUR_CONTACT)
    shutoff_on = calendar.business_day_on_or_after(floor.on)
    for detail in announced:
        detail["shutoff_on"] = shutoff_on
    set_by = tuple(floor.rules_) if shutoff_on == floor.on else (rules.NO_WEEKEND_HOLIDAY_CLOSURE, *floor.rules_)
    return shutoff_on, set_by


def _shutoff_action(shutoff_on, today, calendar, set_by, detail) -> Action:
    """A shutoff whose date has passed (a prerequisite came late) happens on the next business day,
    never on the weekend or holiday the daily run happens to find it (Gov. Code 60374)."""
    if shutoff_on >= today:
        return Action(SHUTOFF, shutoff_on, set_by[0], detail)
    return Action(SHUTOFF, calendar.business_day_on_or_after(today), rules.NO_WEEKEND_HOLIDAY_CLOSURE, detail)


def _last_adult_contact(state: AccountState, since: date) -> date | None:
    reached = [a.on for a in state.contact_attempts if a.reached_adult and a.on >= since]
    return max(reached) if reached else None


def _given_or_expected(given_on: date | None, requested_on: date, today: date) -> date:
    """The day a notice was mailed or posted, or, while it is on its way, the earliest it can still be."""
    return given_on if given_on is not None else max(requested_on, today)


def _prerequisites_met(state: AccountState, notice: ShutoffNoticeRecord, shutoff_on: date) -> bool:
    if notice.mailed_on is None:
        return False
    if state.mailing_differs and notice.occupant_copy_on is None:
        return False
    if state.landlord_of_record and state.tenant_notice_on is None:
        return False
    contacted = _last_adult_contact(state, notice.mailed_on)
    posted = state.forty_eight_hour_notice_on
    warned = [d for d in (contacted, posted) if d is not None and d >= notice.mailed_on]
    return bool(warned) and min(warned) + CONTACT_LEAD <= shutoff_on


def _business_days_before(calendar: DistrictCalendar, day: date, count: int) -> date:
    while count > 0:
        day -= timedelta(days=1)
        if calendar.is_business_day(day):
            count -= 1
    return day


# --- the plan-default path (H&S 116910(b)) ---------------------------------------------------------

def _plan_default_path(state, past_due, amount, today, calendar, policy):
    """The final notice is mailed and posted at the property (door hanger); the shutoff counts from the
    day each was actually given."""
    default_on = _plan_default_on(state, today, policy)
    actions: list[Action] = []
    requested_on = state.final_notice_requested_on
    fresh = requested_on is None or requested_on < default_on
    next_business_day = calendar.business_day_on_or_after(today)
    if fresh:
        requested_on = calendar.business_day_on_or_after(max(default_on, today))
        actions.append(Action(PLAN_DEFAULT_FINAL_NOTICE, requested_on, rules.PLAN_DEFAULT_FINAL_NOTICE,
                              {"amount": amount, "posted_at": state.service_address, "also_mailed": True}))
        mailed_on = requested_on
    else:
        mailed_on = _given_or_expected(state.final_notice_mailed_on, requested_on, today)
    if fresh or state.final_notice_posting_ordered_on is None:
        posted_on = requested_on if fresh else next_business_day
        actions.append(Action(FINAL_NOTICE_POSTING, posted_on, rules.PLAN_DEFAULT_FINAL_NOTICE,
                              {"post_at": state.service_address}))
    else:
        posted_on = state.final_notice_posted_on or calendar.business_day_on_or_after(
            max(state.final_notice_posting_ordered_on, today))
    floor = _Floor(calendar.add_business_days(posted_on, policy.final_notice_business_days_before_shutoff),
                   [rules.PLAN_DEFAULT_FINAL_NOTICE])
    floor.at_least(past_due[0].delinquent_since + timedelta(days=policy.days_delinquent_before_shutoff),
                   rules.MIN_60_DAYS_DELINQUENT)  # a plan default does not lift the 60-day floor
    # The final notice is also mailed: the stricter Gov. Code 60373 mailing period applies to it too.
    floor.at_least(mailed_on + timedelta(days=STATUTORY_MAIL_GRACE_DAYS + STATUTORY_MIN_NOTICE_DAYS_AFTER_GRACE),
                   rules.TEN_DAYS_AFTER_FIVE_DAY_MAILING)
    if state.landlord_of_record:
        tenant_requested_on = None if fresh else state.tenant_notice_requested_on
        if tenant_requested_on is None:
            actions.append(Action(TENANT_NOTICE, requested_on if fresh else next_business_day, rules.TENANT_TEN_DAYS,
                                  {"address": state.service_address, "may_become_customer_without_arrears": True}))
        tenant_on = _given_or_expected(state.tenant_notice_on if tenant_requested_on else None,
                                       tenant_requested_on or requested_on, today)
        floor.at_least(tenant_on + timedelta(days=policy.tenant_notice_days_before_shutoff), rules.TENANT_TEN_DAYS)
    # The final notice posted at the property is itself the notice left at the premises (>= 48 hours).
    floor.at_least(posted_on + CONTACT_LEAD, rules.FORTY_EIGHT_HOUR_CONTACT)
    shutoff_on = calendar.business_day_on_or_after(floor.on)
    set_by = tuple(floor.rules_) if shutoff_on == floor.on else (rules.NO_WEEKEND_HOLIDAY_CLOSURE, *floor.rules_)
    for action in actions:
        action.detail["shutoff_on"] = shutoff_on
    given = not fresh and state.final_notice_mailed_on is not None and state.final_notice_posted_on is not None
    tenant_ready = not state.landlord_of_record or state.tenant_notice_on is not None
    if given and tenant_ready:
        actions.append(_shutoff_action(shutoff_on, today, calendar, set_by, {"amount": amount, "plan_default": True}))
    return actions, shutoff_on, set_by


# --- reconnection (H&S 116912, 116914; Gov. Code 60375) ---------------------------------------------

def _reconnect_actions(state, past_due, today, policy) -> list[Action]:
    arranged = state.payment_plan is not None and state.payment_plan.agreed_on >= state.shutoff_ordered_on \
        and _plan_default_on(state, today, policy) is None
    if past_due and not arranged:
        return []
    return [Action(RECONNECT, today, rules.RECONNECTION,
                   {"reason": "arrangement" if past_due else "paid", "low_income": state.low_income})]


# --- writing outcomes back ---------------------------------------------------------------------------

def record_done(state: AccountState, action: Action, today: date, reference: str = "") -> None:
    """The action was carried out today (notice requested, work order issued): remember it.
    A notice is not given yet: `record_given` records the day it is mailed or posted."""
    kind, detail = action.kind, action.detail
    if kind == PAST_DUE_REMINDER:
        for bill in state.bills:
            if bill.bill_id in detail["bill_ids"]:
                bill.reminded = True
    elif kind == LATE_PENALTY:
        if detail["kind"] == "monthly":
            state.last_monthly_penalty_on = today
        if detail["waive_interest"]:
            state.last_interest_waiver_on = today
    elif kind == SHUTOFF_NOTICE:
        state.shutoff_notice = ShutoffNoticeRecord(reference, today, None, detail["shutoff_on"], detail["amount"],
                                                   detail["bill_ids"])
        state.tenant_notice_requested_on = state.tenant_notice_on = None
        state.door_hanger_ordered_on = state.forty_eight_hour_notice_on = None
    elif kind == OCCUPANT_NOTICE and state.shutoff_notice is not None:
        state.shutoff_notice = replace(state.shutoff_notice, occupant_copy_requested=True, occupant_copy_on=None)
    elif kind == TENANT_NOTICE:
        state.tenant_notice_requested_on, state.tenant_notice_on = today, None
    elif kind == FORTY_EIGHT_HOUR_NOTICE:
        state.door_hanger_ordered_on, state.forty_eight_hour_notice_on = today, None
    elif kind == PLAN_DEFAULT_FINAL_NOTICE:
        state.final_notice_requested_on, state.final_notice_mailed_on = today, None
        state.final_notice_posting_ordered_on = state.final_notice_posted_on = None
        state.tenant_notice_requested_on = state.tenant_notice_on = None
    elif kind == FINAL_NOTICE_POSTING:
        state.final_notice_posting_ordered_on, state.final_notice_posted_on = today, None
    elif kind == SHUTOFF:
        state.shutoff_ordered_on, state.reconnect_ordered_on = today, None
    elif kind == RECONNECT:
        state.reconnect_ordered_on = today
        state.shutoff_notice = None
    elif kind == WRITE_OFF:
        for bill in state.bills:
            if bill.bill_id == detail["bill_id"]:
                bill.written_off = True
    elif kind == VOID_NOTICE and state.shutoff_notice is not None \
            and state.shutoff_notice.notice_id == detail["notice_id"]:
        state.shutoff_notice = None
        state.tenant_notice_requested_on = state.tenant_notice_on = None
        state.door_hanger_ordered_on = state.forty_eight_hour_notice_on = None


def record_given(state: AccountState, kind: str, reference: str, requested_on: date, given_on: date) -> bool:
    """A notice requested (or ordered posted) on `requested_on` was mailed or posted on `given_on`.
    A notice of an earlier cycle, or one already recorded, changes nothing (returns False)."""
    given_on = max(given_on, requested_on)
    notice = state.shutoff_notice
    if kind == SHUTOFF_NOTICE:
        if notice is None or notice.notice_id != reference or notice.mailed_on is not None:
            return False
        notice.mailed_on = given_on
    elif kind == OCCUPANT_NOTICE:
        if notice is None or not notice.occupant_copy_requested or notice.occupant_copy_on is not None \
                or requested_on < notice.requested_on:
            return False
        notice.occupant_copy_on = given_on
    else:
        requested_field, given_field = _GIVEN_FIELDS[kind]
        current = getattr(state, requested_field)
        if current is None or requested_on < current or getattr(state, given_field) is not None:
            return False
        setattr(state, given_field, given_on)
    return True


def record_not_posted(state: AccountState, kind: str, requested_on: date) -> bool:
    """Field staff could not post the notice: the engine orders it again (the clock has not started)."""
    if kind not in POSTED_NOTICES:
        return False
    requested_field, given_field = _GIVEN_FIELDS[kind]
    if getattr(state, requested_field) != requested_on or getattr(state, given_field) is not None:
        return False
    setattr(state, requested_field, None)
    return True


def record_closed(state: AccountState, shutoff_pending: bool) -> bool:
    """The account closed: no shutoff is pursued for any of its bills. The notice cycle on the way to one is
    dropped, and an ordered shutoff not carried out (`shutoff_pending`) with it. Returns whether one was planned
    or ordered."""
    planned = state.shutoff_notice is not None or state.final_notice_requested_on is not None or shutoff_pending
    state.shutoff_notice = None
    state.tenant_notice_requested_on = state.tenant_notice_on = None
    state.door_hanger_ordered_on = state.forty_eight_hour_notice_on = None
    state.final_notice_requested_on = state.final_notice_mailed_on = None
    state.final_notice_posting_ordered_on = state.final_notice_posted_on = None
    if shutoff_pending:
        state.shutoff_ordered_on = state.reconnect_ordered_on = None
    return planned


def record_shutoff_not_done(state: AccountState) -> None:
    """The crew never locked the meter: service was not discontinued, and a reconnect ordered meanwhile
    has nothing to restore. The notice cycle stands, so the engine may order the shutoff again."""
    state.shutoff_ordered_on = state.reconnect_ordered_on = None


_GIVEN_FIELDS = {  # notice kind -> (the state's requested/ordered date, the date it was given)
    TENANT_NOTICE: ("tenant_notice_requested_on", "tenant_notice_on"),
    FORTY_EIGHT_HOUR_NOTICE: ("door_hanger_ordered_on", "forty_eight_hour_notice_on"),
    PLAN_DEFAULT_FINAL_NOTICE: ("final_notice_requested_on", "final_notice_mailed_on"),
    FINAL_NOTICE_POSTING: ("final_notice_posting_ordered_on", "final_notice_posted_on"),
}


# --- the notice's required content (H&S 116908(a)(1)(C)) ---------------------------------------------

REQUIRED_CONTENT = ("customer_name", "customer_address", "amount_delinquent", "pay_or_arrange_by",
                    "extension_process", "bill_review_process", "alternative_payment_process")


def notice_content(state: AccountState, amount: Decimal, shutoff_on: date, calendar: DistrictCalendar,
                   policy: CollectionsPolicy) -> dict:
    """Every item H&S 116908(a)(1)(C)(i)-(vi) requires, plus the policy and phone number."""
    return {
        "customer_name": state.customer_name,
        "customer_address": state.mailing_address or state.service_address,
        "amount_delinquent": amount,
        "pay_or_arrange_by": _business_days_before(calendar, shutoff_on, 1),
        "extension_process": policy.extension_process,
        "bill_review_process": policy.bill_review_process,
        "alternative_payment_process": policy.alternative_payment_process,
        "policy_url": policy.policy_url,
        "phone": policy.phone,
    }


def missing_content(content: dict) -> list[str]:
    return [item for item in REQUIRED_CONTENT if content.get(item) in (None, "")]


# --- fees, waivers, plans, counts ----------------------------------------------------------------------

def interest_waiver_available(last_waived_on: date | None, today: date) -> bool:
    """Once every 12 months (H&S 116914(a)(2))."""
    return last_waived_on is None or today >= _add_months(last_waived_on, 12)


def reconnection_fee(policy: CollectionsPolicy, low_income: bool, after_hours: bool, year: int,
                     cpi: dict) -> Decimal:
    """The District's fee; for a low-income household capped at $50 / $150 adjusted by CPI (H&S 116914(a)(1))."""
    fee = policy.reconnection_fee_after_hours if after_hours else policy.reconnection_fee_normal_hours
    if not low_income:
        return fee
    return min(fee, low_income_reconnection_cap(after_hours, year, cpi))


def after_hours(done_at: datetime, calendar: DistrictCalendar, policy: CollectionsPolicy) -> bool:
    """Work done (District local time) on a day the offices are closed, or outside operating hours, is after
    hours: the after-hours fee (and, for a low-income household, the $150 cap of H&S 116914(a)(1))."""
    hours = policy.operating_hours()
    return not calendar.is_business_day(done_at.date()) or not hours.start <= done_at.time() < hours.end


def reconnection_fee_rule(low_income: bool) -> rules.Rule:
    return rules.LOW_INCOME_RECONNECTION_FEE if low_income else rules.RECONNECTION_FEE


def low_income_reconnection_cap(after_hours: bool, year: int, cpi: dict) -> Decimal:
    """$50 / $150 x CPI(Y-1) / CPI(base year). Until the previous year's annual average is on file
    (BLS publishes it in January) the latest year on file is used: prices rise, so that cap is the
    lower one and the household is never charged above the statutory cap."""
    base = Decimal("150.00") if after_hours else Decimal("50.00")
    if year <= 2020:
        return base
    series, base_year = cpi["annual_average"], str(cpi["base_year"])
    on_file = [y for y in series if int(y) < year]
    if not on_file:
        raise InvalidInput({"cpi": [f"No CPI annual average before {year}: add it to data/cpi.json."]})
    latest = max(on_file, key=int)
    if latest != str(year - 1):
        log.warning("CPI annual average for %s not on file: the %s reconnection fee cap uses %s's "
                    "(add it to data/cpi.json)", year - 1, year, latest)
    return (base * Decimal(series[latest]) / Decimal(series[base_year])).quantize(Decimal("0.01"))


def amortize(amount: Decimal, first_due_on: date, months: int, policy: CollectionsPolicy) -> list[Installment]:
    """Equal monthly installments, the leftover cents on the first ones (largest remainder), no cent lost;
    never longer than 12 months (Gov. Code 60372)."""
    if not 1 <= months <= policy.max_amortization_months:
        raise InvalidInput({"months": [f"A plan runs 1 to {policy.max_amortization_months} months "
                                       f"(Gov. Code 60372); got {months}."]})
    cents = int((amount * 100).to_integral_value())
    share, extra = divmod(cents, months)
    return [Installment(_add_months(first_due_on, n), Decimal(share + (1 if n < extra else 0)) / 100)
            for n in range(months)]


@dataclass(frozen=True)
class Discontinuation:
    account_id: str
    on: date
    residential: bool
    for_nonpayment: bool


def annual_discontinuation_count(discontinuations: list[Discontinuation], year: int) -> int:
    """Residential discontinuations for inability to pay in a calendar year (H&S 116918)."""
    return sum(1 for d in discontinuations if d.on.year == year and d.residential and d.for_nonpayment)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
