"""Property: for a randomised population of accounts and stories, the engine never orders a shutoff
that any rule forbids. The checker (domain/shutoff_guard.py, the guard the service applies before it
orders a shutoff) restates each rule directly, not through the engine's code, and is applied to the
account's state on the day each shutoff is ordered."""
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cis_collections.domain import engine
from cis_collections.domain.engine import AccountState, Appeal, Extension, MedicalCertification, PaymentPlan, amortize
from cis_collections.domain.policy import CollectionsPolicy
from cis_collections.domain.shutoff_guard import forbidden_reasons
from stories import Story, bill

START = date(2026, 3, 1)


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
