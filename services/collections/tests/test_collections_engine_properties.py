"""Property: for a randomised population of accounts and stories, the engine never orders a shutoff
that any rule forbids. The checker below restates each rule directly (not through the engine's code),
and is applied to the account's state on the day each shutoff is ordered."""
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cis_collections.domain import engine
from cis_collections.domain.engine import AccountState, Appeal, Extension, MedicalCertification, PaymentPlan, amortize
from cis_collections.domain.policy import CollectionsPolicy
from stories import Story, bill

START = date(2026, 3, 1)


def forbidden_reasons(state: AccountState, day: date, calendar, policy) -> list[str]:
    reasons = []
    if not calendar.is_business_day(day):
        reasons.append("Gov. Code 60374: not a business day")
    unpaid = [b for b in state.bills if b.unpaid > 0 and b.due_on < day and not b.final]
    if not unpaid:
        return reasons + ["nothing past due on an open account"]
    if min(b.due_on for b in unpaid) + timedelta(days=61) > day:
        reasons.append("H&S 116908: not yet 60 days delinquent")
    if any(a.filed_on <= day and (a.resolved_on is None or a.resolved_on > day) for a in state.appeals):
        reasons.append("Gov. Code 60372: appeal pending")
    if any(e.granted_on <= day <= e.until for e in state.extensions):
        reasons.append("Gov. Code 60372: extension in effect")
    plan = state.payment_plan
    defaulted = False
    if plan is not None and plan.agreed_on <= day and any(i.unpaid > 0 for i in plan.installments):
        late = [i for i in plan.installments if i.unpaid > 0 and i.due_on + timedelta(days=60) <= day] + \
               [b for b in state.bills if b.issued_on >= plan.agreed_on and b.unpaid > 0
                and b.due_on + timedelta(days=60) <= day]
        defaulted = bool(late)
        if not defaulted:
            reasons.append("H&S 116910 / Gov. Code 60372: plan in good standing")
    if defaulted:
        posted, mailed = state.final_notice_posted_on, state.final_notice_mailed_on
        if posted is None or calendar.business_days_between(posted, day) < 5:
            reasons.append("H&S 116910(b): final notice not posted 5 business days before")
        if mailed is None or (day - mailed).days < 15:
            reasons.append("Gov. Code 60373: final notice not mailed 15 days before")
        if state.landlord_of_record and (state.tenant_notice_on is None or (day - state.tenant_notice_on).days < 10):
            reasons.append("H&S 116916: tenants not told 10 days before")
        return reasons
    notice = state.shutoff_notice
    if notice is None or notice.mailed_on is None:
        return reasons + ["H&S 116908: no written notice mailed"]
    mailings = [notice.mailed_on] + ([notice.occupant_copy_on] if state.mailing_differs else [])
    if state.mailing_differs and notice.occupant_copy_on is None:
        reasons.append("H&S 116908: no copy mailed to Occupant")
    elif any(calendar.business_days_between(m, day) < 7 for m in mailings):
        reasons.append("H&S 116908: fewer than 7 business days after a mailing")
    elif any((day - m).days < 15 for m in mailings):
        reasons.append("Gov. Code 60373: fewer than 10 days counted from 5 days after a mailing")
    noticed_bills = [b for b in state.bills if b.bill_id in notice.bill_ids]
    if any(notice.mailed_on < b.issued_on + timedelta(days=19) for b in noticed_bills):
        reasons.append("Gov. Code 60373: notice mailed earlier than 19 days after the bill")
    if not any(b.unpaid > 0 for b in noticed_bills):
        reasons.append("the bills in the notice are paid")
    if state.landlord_of_record and (state.tenant_notice_on is None or (day - state.tenant_notice_on).days < 10):
        reasons.append("H&S 116916: tenants not told 10 days before")
    warned = [a.on for a in state.contact_attempts if a.reached_adult and a.on >= notice.mailed_on]
    if state.forty_eight_hour_notice_on and state.forty_eight_hour_notice_on >= notice.mailed_on:
        warned.append(state.forty_eight_hour_notice_on)
    if not warned or (day - min(warned)).days < 2:
        reasons.append("Gov. Code 60373: no adult reached and no 48-hour notice 48 hours before")
    for interruption in [a.filed_on for a in state.appeals] + [e.granted_on for e in state.extensions] + \
            ([plan.agreed_on] if plan else []):
        if notice.mailed_on <= interruption <= day:
            reasons.append("the notice cycle was interrupted after mailing")
    return reasons


day_offsets = st.integers(min_value=0, max_value=200)


@st.composite
def stories(draw):
    bills = []
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        issued = START + timedelta(days=draw(st.integers(min_value=0, max_value=120)))
        due = issued + timedelta(days=draw(st.integers(min_value=5, max_value=30)))
        bills.append(bill(f"B{n}", str(draw(st.decimals(min_value=1, max_value=500, places=2))),
                          issued.isoformat(), due.isoformat(), final=draw(st.booleans())))
    state = AccountState("A1", "Ana", draw(st.sampled_from(["12 Elm St", "PO Box 9"])), "12 Elm St",
                         landlord_of_record=draw(st.booleans()), low_income=draw(st.booleans()),
                         financially_unable=draw(st.booleans()), bills=bills)
    policy = CollectionsPolicy(shutoff_notice_days_after_due=draw(st.integers(min_value=0, max_value=60)),
                               contact_business_days_before_shutoff=draw(st.integers(min_value=2, max_value=5)))
    story = Story(state, START, policy=policy, reach_adult=draw(st.booleans()),
                  mail_days=draw(st.integers(min_value=0, max_value=6)),
                  posting_days=draw(st.integers(min_value=0, max_value=4)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        day = START + timedelta(days=draw(day_offsets))
        kind = draw(st.sampled_from(["pay_all", "pay_part", "appeal", "extension", "plan", "medical"]))
        length = draw(st.integers(min_value=1, max_value=40))
        story.on(day, _event(kind, day, length))
    return story


def _event(kind: str, day: date, length: int):
    def apply(state: AccountState) -> None:
        unpaid = [b for b in state.bills if b.unpaid > 0]
        if kind == "pay_all":
            for b in unpaid:
                b.paid = b.amount
        elif kind == "pay_part" and unpaid:
            unpaid[0].paid += (unpaid[0].unpaid / 2).quantize(Decimal("0.01"))
        elif kind == "appeal":
            state.appeals.append(Appeal(day, day + timedelta(days=length)))
        elif kind == "extension":
            state.extensions.append(Extension(day, day + timedelta(days=length)))
        elif kind in ("plan", "medical") and unpaid:
            total = sum((b.unpaid for b in unpaid), Decimal("0"))
            state.payment_plan = PaymentPlan("P", day, amortize(total, day + timedelta(days=length),
                                                                 1 + length % 12, CollectionsPolicy()))
            if kind == "medical":
                state.medical_certification = MedicalCertification(day)
    return apply


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories())
def test_the_engine_never_orders_a_shutoff_any_rule_forbids(story):
    story.run_until(START + timedelta(days=300))
    event(f"shutoffs ordered: {len(story.shutoff_states)}")
    for day, state in story.shutoff_states:
        assert forbidden_reasons(state, day, story.calendar, story.policy) == [], (day, state)


def test_the_checker_catches_a_shutoff_on_a_holiday_before_60_days_without_notice():
    state = AccountState("A1", bills=[bill()])
    story = Story(state, START)
    reasons = forbidden_reasons(state, date(2026, 5, 25), story.calendar, story.policy)
    assert reasons[:3] == ["Gov. Code 60374: not a business day", "H&S 116908: not yet 60 days delinquent",
                           "H&S 116908: no written notice mailed"]


def test_the_random_population_reaches_shutoffs_at_all():
    story = Story(AccountState("A1", bills=[bill()]), START)
    story.run_until(START + timedelta(days=300))
    assert story.days_of(engine.SHUTOFF)
