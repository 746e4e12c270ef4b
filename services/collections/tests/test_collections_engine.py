"""Scenario tests of the collections engine, one (or more) per statutory rule, named for its section.

Each story runs day by day on a controllable business date (tests/stories.py) from the bill to
the shutoff or the reason there was none. The demo bill: issued (mailed) 2 April 2026, due 23 April.
"""
from datetime import timedelta
from decimal import Decimal

import pytest

from cis_collections.adapters.reference_data import cpi_series, district_calendar
from cis_collections.domain import engine, rules
from cis_collections.domain.calendar import DistrictCalendar
from cis_collections.domain.engine import (Appeal, Discontinuation, Extension, MedicalCertification, PaymentPlan,
                                           amortize, annual_discontinuation_count, interest_waiver_available,
                                           low_income_reconnection_cap, missing_content, reconnection_fee)
from cis_collections.domain.policy import CollectionsPolicy
from cis_runtime.errors import InvalidInput
from stories import Story, account, bill, d, pay_all

CALENDAR = district_calendar()


def story(**kwargs) -> Story:
    state = kwargs.pop("state", None) or account()
    return Story(state, kwargs.pop("start", d("2026-04-03")), **kwargs)


# --- delinquency, reminder --------------------------------------------------------------------------

def test_past_due_reminder_the_day_after_the_due_date_per_district_policy():
    s = story().run_until("2026-05-01")
    assert s.days_of(engine.PAST_DUE_REMINDER) == [d("2026-04-24")]
    assert s.decide().status == "delinquent"


def test_late_penalties_basic_with_the_reminder_then_monthly_on_the_balance_past_due_30_days():
    s = story(state=account(bill(), bill("B2", "50.00", "2026-05-02", "2026-05-23"))).run_until("2026-07-02")
    penalties = [(day, a.detail["kind"], a.detail["bill_id"]) for day, a in _penalties(s)]
    assert penalties == [
        (d("2026-04-24"), "basic", "B1"), (d("2026-05-23"), "monthly", "B1"),  # B1 30 days past due
        (d("2026-05-24"), "basic", "B2"), (d("2026-06-01"), "monthly", "B1"), (d("2026-07-01"), "monthly", "B1")]
    monthly = [a for day, a in _penalties(s) if day == d("2026-07-01")][0]
    assert monthly.detail["past_due"] == Decimal("114.55") and monthly.rule == rules.LATE_PENALTY


def test_late_penalties_are_never_charged_on_a_posted_penalty():
    penalty = bill("J1", "6.46", "2026-04-24", "2026-04-24", adjustment=True)
    s = story(state=account(bill(), penalty)).run_until("2026-05-31")
    assert [a.detail["past_due"] for day, a in _penalties(s) if a.detail["kind"] == "monthly"] == [Decimal("64.55")]
    assert s.days_of(engine.PAST_DUE_REMINDER) == [d("2026-04-24")]
    assert s.decide().past_due_amount == Decimal("71.01")  # but it is owed


def test_hsc_116914_a2_low_income_interest_waived_once_every_12_months():
    s = story(state=account(low_income=True)).run_until("2026-07-31")
    monthly = [a for day, a in _penalties(s) if a.detail["kind"] == "monthly"]
    assert [a.detail["waive_interest"] for a in monthly] == [True, False, False]  # 23 May, 1 June, 1 July
    assert monthly[0].rule == rules.LOW_INCOME_INTEREST_WAIVER
    assert [a.detail["waive_interest"] for day, a in _penalties(s) if a.detail["kind"] == "basic"] == [False]
    assert interest_waiver_available(d("2026-04-24"), d("2027-04-24"))
    assert not interest_waiver_available(d("2026-04-24"), d("2027-04-23"))


def _penalties(s):
    """The penalty requests a story made, from the engine's log of what was done."""
    return [(day, action) for day, action in s.actions_done if action.kind == engine.LATE_PENALTY]


# --- 60 days, written notice, timing --------------------------------------------------------------------

def test_hsc_116908_no_discontinuation_before_60_days_delinquent():
    s = story().run_until("2026-07-31")
    # delinquent from 24 April; 60 days later is 23 June (a Tuesday, a business day)
    assert s.days_of(engine.SHUTOFF) == [d("2026-06-23")]
    assert story().decide(d("2026-05-01")).shutoff_set_by == (rules.MIN_60_DAYS_DELINQUENT,)
    early = story(policy=CollectionsPolicy(shutoff_notice_days_after_due=19)).run_until("2026-06-22")
    assert early.days_of(engine.SHUTOFF) == []


def test_hsc_116908_written_notice_at_least_7_business_days_and_gov_60373_ten_days_after_five_before_shutoff():
    s = story(policy=CollectionsPolicy(shutoff_notice_days_after_due=55)).run_until("2026-07-31")
    mailed, = s.days_of(engine.SHUTOFF_NOTICE)
    shutoff, = s.days_of(engine.SHUTOFF)
    assert mailed == d("2026-06-17")
    assert CALENDAR.business_days_between(mailed, shutoff) >= 7
    assert shutoff - mailed >= timedelta(days=15)
    assert shutoff == d("2026-07-02")  # 17 June + 15 days, a Thursday
    assert s.done[-1][2] == rules.TEN_DAYS_AFTER_FIVE_DAY_MAILING.code


def test_hsc_116908_a1c_notice_carries_every_required_content_item():
    s = story(state=account(mailing_address="PO Box 9, Town")).run_until("2026-05-25")
    notice = next(a for a in s.decide().actions if a.kind == engine.SHUTOFF_NOTICE)
    content = notice.detail["content"]
    assert missing_content(content) == []
    assert content["customer_name"] == "Ana Flores" and content["customer_address"] == "PO Box 9, Town"
    assert content["amount_delinquent"] == Decimal("64.55")
    assert content["pay_or_arrange_by"] == d("2026-06-22")  # the business day before the 23 June shutoff
    assert missing_content({**content, "bill_review_process": ""}) == ["bill_review_process"]


def test_hsc_116908_a1c_copy_to_occupant_when_mailing_address_differs():
    differs = story(state=account(mailing_address="PO Box 9")).run_until("2026-07-31")
    same = story().run_until("2026-07-31")
    assert differs.days_of(engine.OCCUPANT_NOTICE) == differs.days_of(engine.SHUTOFF_NOTICE) == [d("2026-05-26")]
    assert same.days_of(engine.OCCUPANT_NOTICE) == []
    occupant = next(a for a in story(state=account(mailing_address="PO Box 9")).decide(d("2026-05-01")).actions
                    if a.kind == engine.OCCUPANT_NOTICE)
    assert (occupant.detail["addressee"], occupant.detail["address"]) == ("Occupant", "12 Elm St")


def test_gov_60373_notice_not_mailed_earlier_than_19_days_after_the_bill():
    short_due = account(bill(issued_on="2026-04-02", due_on="2026-04-10"))
    s = story(state=short_due, policy=CollectionsPolicy(shutoff_notice_days_after_due=0)).run_until("2026-07-31")
    assert s.days_of(engine.SHUTOFF_NOTICE) == [d("2026-04-21")]
    planned = story(state=account(bill(issued_on="2026-04-02", due_on="2026-04-10")),
                    policy=CollectionsPolicy(shutoff_notice_days_after_due=0)).decide(d("2026-04-11"))
    mailing = next(a for a in planned.actions if a.kind == engine.SHUTOFF_NOTICE)
    assert (mailing.on, mailing.rule) == (d("2026-04-21"), rules.NOT_BEFORE_19_DAYS_AFTER_BILL)


# --- 48 hours ---------------------------------------------------------------------------------------

def test_gov_60373_48_hour_attempt_to_reach_an_adult_else_a_posted_48_hour_notice():
    reached = story(reach_adult=True).run_until("2026-07-31")
    not_reached = story(reach_adult=False).run_until("2026-07-31")
    assert reached.days_of(engine.CONTACT_ATTEMPT) == [d("2026-06-17")]
    assert reached.days_of(engine.FORTY_EIGHT_HOUR_NOTICE) == []
    assert not_reached.days_of(engine.FORTY_EIGHT_HOUR_NOTICE) == [d("2026-06-18")]
    for s in (reached, not_reached):
        warned = (s.days_of(engine.FORTY_EIGHT_HOUR_NOTICE) or s.days_of(engine.CONTACT_ATTEMPT))[0]
        assert s.days_of(engine.SHUTOFF)[0] - warned >= timedelta(hours=48)


def test_gov_60373_a_late_contact_attempt_moves_the_shutoff_48_hours_after_it():
    s = story(reach_adult=False)
    s.run_until("2026-06-16")
    # staff missed the planned attempt on the 17th: it happens on the 22nd, the door hanger that day too
    s.state.contact_attempts.clear()
    decision = s.decide(d("2026-06-22"))
    hanger = next(a for a in decision.actions if a.kind == engine.FORTY_EIGHT_HOUR_NOTICE)
    assert decision.shutoff_on >= hanger.on + timedelta(days=2)


# --- landlord of record -------------------------------------------------------------------------------

def test_hsc_116916_gov_60371_tenants_notified_at_least_10_days_before_shutoff():
    s = story(state=account(landlord_of_record=True, mailing_address="Owner LLC, 1 Main St"),
              policy=CollectionsPolicy(shutoff_notice_days_after_due=55)).run_until("2026-07-31")
    tenant, = s.days_of(engine.TENANT_NOTICE)
    shutoff, = s.days_of(engine.SHUTOFF)
    assert shutoff - tenant >= timedelta(days=10)
    notice = next(a for a in story(state=account(landlord_of_record=True)).decide(d("2026-05-26")).actions
                  if a.kind == engine.TENANT_NOTICE)
    assert notice.detail["may_become_customer_without_arrears"] is True


def test_hsc_116916_no_shutoff_without_the_tenant_notice_on_record():
    s = story(state=account(landlord_of_record=True))
    s.run_until("2026-05-26")
    s.state.tenant_notice_on = None  # the tenant notice was never sent
    assert all(a.kind != engine.SHUTOFF for a in s.decide(d("2026-06-23")).actions)


# --- business days --------------------------------------------------------------------------------------

def test_gov_60374_no_shutoff_on_a_holiday_weekend():
    # 60 days delinquent falls on Thanksgiving (26 Nov 2026); Friday is a holiday, then the weekend
    s = story(state=account(bill(issued_on="2026-09-04", due_on="2026-09-26")), start=d("2026-09-05"))
    s.run_until("2026-12-31")
    assert s.days_of(engine.SHUTOFF) == [d("2026-11-30")]
    planned = story(state=account(bill(issued_on="2026-09-04", due_on="2026-09-26"))).decide(d("2026-10-01"))
    assert planned.shutoff_set_by[:2] == (rules.NO_WEEKEND_HOLIDAY_CLOSURE, rules.MIN_60_DAYS_DELINQUENT)


def test_gov_60374_calendar_knows_weekends_holidays_and_closures():
    assert CALENDAR.closure_reason(d("2026-12-24")) == "Christmas Eve, offices closed"
    assert CALENDAR.closure_reason(d("2026-11-28")) == "Saturday"
    assert CALENDAR.business_day_on_or_after(d("2026-11-26")) == d("2026-11-30")
    assert CALENDAR.add_business_days(d("2026-12-23"), 1) == d("2026-12-28")
    with pytest.raises(InvalidInput, match="2031"):
        CALENDAR.is_business_day(d("2031-01-02"))
    with pytest.raises(InvalidInput, match="not in the calendar year"):
        DistrictCalendar.from_year_documents([{"year": 2026, "legal_holidays": {"2027-01-01": "New Year"}}])


# --- appeals, extensions ----------------------------------------------------------------------------------

def test_gov_60372_hsc_116908_appeal_filed_the_day_before_shutoff_stops_it():
    s = story().on("2026-06-22", lambda st: st.appeals.append(Appeal(d("2026-06-22"))))
    s.run_until("2026-07-31")
    assert s.days_of(engine.SHUTOFF) == []
    assert s.decide().blocks[0].rule == rules.NO_SHUTOFF_DURING_APPEAL
    # the appeal is decided against the customer: a fresh notice cycle, never the old date
    s.state.appeals[0].resolved_on = d("2026-08-03")
    s.today = d("2026-08-03")
    s.run_until("2026-09-30")
    mailed = [m for m in s.days_of(engine.SHUTOFF_NOTICE) if m >= d("2026-08-03")]
    assert mailed == [d("2026-08-03")]
    assert s.days_of(engine.SHUTOFF) == [d("2026-08-18")]  # 3 Aug + 15 days (Gov. Code 60373)


def test_gov_60372_no_shutoff_while_an_extension_is_granted():
    s = story().on("2026-06-10", lambda st: st.extensions.append(Extension(d("2026-06-10"), d("2026-07-10"))))
    s.run_until("2026-07-10")
    assert s.days_of(engine.SHUTOFF) == []
    blocks = s.decide(d("2026-07-01")).blocks
    assert (blocks[0].rule, blocks[0].until) == (rules.NO_SHUTOFF_DURING_EXTENSION, d("2026-07-10"))
    s.run_until("2026-08-31")
    assert s.days_of(engine.SHUTOFF)[0] > d("2026-07-10")


# --- protections and payment plans ---------------------------------------------------------------------------

def _plan(agreed_on: str, amount="64.55", months=3, first_due="2026-07-15"):
    return PaymentPlan("PLAN1", d(agreed_on), amortize(Decimal(amount), d(first_due), months, CollectionsPolicy()))


def test_hsc_116910a_medical_certification_with_plan_blocks_then_116910b_default_after_60_days():
    def certify(state):
        state.medical_certification = MedicalCertification(d("2026-06-15"))
        state.financially_unable = True
        state.payment_plan = _plan("2026-06-15")
    s = story().on("2026-06-15", certify)
    s.run_until("2026-09-12")
    assert s.days_of(engine.SHUTOFF) == []
    assert s.decide(d("2026-07-01")).blocks[0].rule == rules.MEDICAL_PROTECTION
    # nothing paid on the plan: the 15 July installment is 60 days unpaid on 13 September (a Sunday)
    s.run_until("2026-10-31")
    posted, = s.days_of(engine.PLAN_DEFAULT_FINAL_NOTICE)
    shutoff, = s.days_of(engine.SHUTOFF)
    assert posted == d("2026-09-14")
    assert CALENDAR.business_days_between(posted, shutoff) >= 5
    assert shutoff == d("2026-09-29")  # 15 days: the posted notice is also mailed (Gov. Code 60373)


def test_hsc_116910b_a_kept_plan_never_defaults():
    def agree(state):
        state.payment_plan = _plan("2026-06-15", months=1)
    def pay_installment(state):
        state.payment_plan.installments[0].paid = Decimal("64.55")
        pay_all(state)
    s = story().on("2026-06-15", agree).on("2026-07-15", pay_installment).run_until("2026-12-31")
    assert s.days_of(engine.SHUTOFF) == s.days_of(engine.PLAN_DEFAULT_FINAL_NOTICE) == []


def test_gov_60372_amortization_over_at_most_12_months_loses_no_cent():
    installments = amortize(Decimal("100.00"), d("2026-01-31"), 3, CollectionsPolicy())
    assert [i.amount for i in installments] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert [i.due_on for i in installments] == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31")]
    with pytest.raises(InvalidInput, match="60372"):
        amortize(Decimal("100.00"), d("2026-01-31"), 13, CollectionsPolicy())


# --- payment, reconnection, fees -----------------------------------------------------------------------------

def test_hsc_116912_payment_the_morning_of_the_scheduled_shutoff_orders_reconnection():
    s = story().run_until("2026-06-23")
    assert s.days_of(engine.SHUTOFF) == [d("2026-06-23")]
    pay_all(s.state)  # the customer pays at the counter that morning, after the work order went out
    reconnect = s.decide(d("2026-06-23")).due_actions(d("2026-06-23"))
    assert [(a.kind, a.detail["reason"], a.rule) for a in reconnect] == [(engine.RECONNECT, "paid", rules.RECONNECTION)]


def test_hsc_116908_after_reconnection_a_new_delinquency_starts_a_new_notice_cycle():
    s = story().run_until("2026-06-23")
    pay_all(s.state)
    s.run_until("2026-06-24")
    assert s.days_of(engine.RECONNECT) == [d("2026-06-23")]
    s.state.bills.append(bill("B2", "70.00", "2026-07-02", "2026-07-23"))
    s.run_until("2026-10-31")
    assert s.days_of(engine.SHUTOFF_NOTICE)[-1] == d("2026-08-24")  # 23 July + 30 days (a Saturday) -> Monday
    assert s.days_of(engine.SHUTOFF) == [d("2026-06-23"), d("2026-09-22")]  # 60 days after 24 July


def test_hsc_116908_a_payment_before_the_shutoff_day_cancels_the_shutoff():
    s = story().on("2026-06-22", pay_all).run_until("2026-07-31")
    assert s.days_of(engine.SHUTOFF) == []
    assert s.decide().status == "current"


def test_hsc_116914_a1_low_income_reconnection_fee_caps_adjusted_by_cpi_from_2021():
    cpi = cpi_series()
    assert low_income_reconnection_cap(False, 2020, cpi) == Decimal("50.00")
    assert low_income_reconnection_cap(False, 2021, cpi) == Decimal("50.62")  # 50 x 258.811 / 255.657
    assert low_income_reconnection_cap(True, 2025, cpi) == Decimal("184.05")  # 150 x 313.689 / 255.657
    policy = CollectionsPolicy(reconnection_fee_normal_hours=Decimal("45.00"))
    assert reconnection_fee(policy, True, False, 2025, cpi) == Decimal("45.00")  # never above cost
    assert reconnection_fee(CollectionsPolicy(), False, False, 2025, cpi) == Decimal("75.00")
    # 2025's annual average not on file yet: 2026 uses 2024's, the lower cap, never above the statute's.
    assert "2025" not in cpi["annual_average"]
    assert low_income_reconnection_cap(True, 2026, cpi) == Decimal("184.05")
    with pytest.raises(InvalidInput, match="before 2021"):
        low_income_reconnection_cap(False, 2021, {"base_year": 2019, "annual_average": {}})


def test_hsc_116914_a1_after_hours_is_outside_operating_hours_or_on_a_closed_day_and_sets_the_fee_rule():
    from datetime import datetime

    from cis_runtime.clock import DISTRICT_ZONE
    policy = CollectionsPolicy()  # operating hours 08:00-17:00

    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=DISTRICT_ZONE)
    assert not engine.after_hours(at("2026-06-23T08:00"), CALENDAR, policy)
    assert engine.after_hours(at("2026-06-23T17:00"), CALENDAR, policy)  # the office has closed
    assert engine.after_hours(at("2026-06-23T07:59"), CALENDAR, policy)
    assert engine.after_hours(at("2026-06-19T10:00"), CALENDAR, policy)  # Juneteenth, a legal holiday
    assert engine.after_hours(at("2026-06-27T10:00"), CALENDAR, policy)  # Saturday
    assert engine.reconnection_fee_rule(True).citation == "H&S 116914(a)(1)"
    assert engine.reconnection_fee_rule(False).code == "reconnection_fee"
    with pytest.raises(InvalidInput) as error:
        CollectionsPolicy.from_settings({"operating_hours_start": "9am", "operating_hours_end": "08:00"})
    assert set(error.value.field_errors) == {"operating_hours_start"}
    with pytest.raises(InvalidInput) as error:
        CollectionsPolicy.from_settings({"operating_hours_start": "17:00", "operating_hours_end": "08:00"})
    assert set(error.value.field_errors) == {"operating_hours_end"}


# --- counts, write-offs, policy --------------------------------------------------------------------------

def test_hsc_116918_annual_count_of_residential_discontinuations_for_inability_to_pay():
    records = [Discontinuation("A1", d("2026-06-23"), True, True), Discontinuation("A2", d("2026-07-01"), False, True),
               Discontinuation("A3", d("2026-08-01"), True, False), Discontinuation("A4", d("2025-12-30"), True, True),
               Discontinuation("A5", d("2026-12-31"), True, True)]
    assert annual_discontinuation_count(records, 2026) == 2


def test_final_bill_written_off_after_the_policy_period():
    final = account(bill(final=True))
    policy = CollectionsPolicy(write_off_days_after_final_due=180)
    assert [a.kind for a in engine.decide(final, d("2026-10-19"), CALENDAR, policy).due_actions(d("2026-10-19"))
            if a.kind == engine.WRITE_OFF] == []
    due = engine.decide(final, d("2026-10-20"), CALENDAR, policy).due_actions(d("2026-10-20"))
    assert [(a.kind, a.detail["amount"]) for a in due if a.kind == engine.WRITE_OFF] == [
        (engine.WRITE_OFF, Decimal("64.55"))]


def test_a_closed_account_has_no_shutoff_path_for_any_bill_and_its_balance_is_written_off():
    closed = account(bill(), closed_on=d("2026-05-01"))  # a regular bill, not the closing one
    s = Story(closed, d("2026-04-03"), policy=CollectionsPolicy(write_off_days_after_final_due=180))
    s.run_until("2026-10-20")
    assert [kind for _, kind, _ in s.done if kind in engine.MAILED_NOTICES + engine.POSTED_NOTICES
            + (engine.SHUTOFF, engine.CONTACT_ATTEMPT)] == []
    assert s.days_of(engine.PAST_DUE_REMINDER) == [d("2026-04-24")]  # the final-bill path still reminds
    assert s.days_of(engine.WRITE_OFF) == [d("2026-10-20")]


def test_a_bill_never_delivered_starts_nothing_until_it_is_and_then_counts_from_its_delivery():
    s = story(state=account(bill(delivered_on=None))).run_until("2026-05-14")
    assert s.done == []
    s.state.bills[0].delivered_on = d("2026-05-14")
    s.run_until("2026-06-10")
    assert s.days_of(engine.PAST_DUE_REMINDER) == [d("2026-05-14")]
    assert s.days_of(engine.SHUTOFF_NOTICE) == [d("2026-06-02")]  # 14 May + 19 days (Gov. Code 60373(a))


def test_gov_60373a_a_recorded_notice_mailed_earlier_than_19_days_after_the_bill_is_void_and_a_lawful_one_planned():
    state = account(bill())  # mailed 2 April
    state.shutoff_notice = engine.ShutoffNoticeRecord("N-OLD", d("2026-04-10"), d("2026-04-10"), d("2026-05-20"),
                                                      Decimal("64.55"), ("B1",))
    due = engine.decide(state, d("2026-05-26"), CALENDAR, CollectionsPolicy()).due_actions(d("2026-05-26"))
    void = [a for a in due if a.kind == engine.VOID_NOTICE]
    assert [(a.rule, a.detail["notice_id"]) for a in void] == [(rules.NOT_BEFORE_19_DAYS_AFTER_BILL, "N-OLD")]
    assert "Gov. Code 60373(a)" in void[0].detail["reason"]
    assert [a.kind for a in due if a.kind in (engine.SHUTOFF_NOTICE, engine.SHUTOFF)] == [engine.SHUTOFF_NOTICE]
    engine.record_done(state, void[0], d("2026-05-26"))
    assert state.shutoff_notice is None


@pytest.mark.parametrize("setting, value, citation", [
    ("days_delinquent_before_shutoff", 59, "116908"), ("notice_business_days_before_shutoff", 6, "116908"),
    ("tenant_notice_days_before_shutoff", 9, "116916"), ("plan_default_days", 30, "116910"),
    ("final_notice_business_days_before_shutoff", 4, "116910"), ("contact_business_days_before_shutoff", 1, "60373"),
    ("max_amortization_months", 13, "60372"), ("extension_process", " ", "116908")])
def test_policy_below_a_statutory_minimum_is_rejected_naming_the_setting(setting, value, citation):
    with pytest.raises(InvalidInput) as error:
        CollectionsPolicy(**{setting: value})
    assert setting in error.value.field_errors and citation in error.value.field_errors[setting][0]


def test_policy_from_settings_converts_strings_and_rejects_unknown_names():
    assert CollectionsPolicy.from_settings({"monthly_penalty_after_days": "45"}).monthly_penalty_after_days == 45
    with pytest.raises(InvalidInput) as error:
        CollectionsPolicy.from_settings({"shutoff_after_days": "30"})
    assert "shutoff_after_days" in error.value.field_errors


# --- a notice counts when given (mailed by the mail house, posted by field staff) ----------------------------

def test_gov_60373_hsc_116908_periods_count_from_the_day_the_notice_is_mailed_not_requested():
    policy = CollectionsPolicy(shutoff_notice_days_after_due=55)
    on_time = story(policy=policy).run_until("2026-07-31")
    late = story(policy=policy, mail_days=3).run_until("2026-07-31")
    assert on_time.days_of(engine.SHUTOFF_NOTICE) == late.days_of(engine.SHUTOFF_NOTICE) == [d("2026-06-17")]
    assert late.given[0] == (d("2026-06-20"), engine.SHUTOFF_NOTICE)
    assert on_time.days_of(engine.SHUTOFF) == [d("2026-07-02")]  # 17 June + 15 days
    # mailed 20 June: 20 June + 15 days = 5 July, a Sunday; 6 July is the next business day
    assert late.days_of(engine.SHUTOFF) == [d("2026-07-06")]


def test_gov_60373_no_shutoff_while_the_written_notice_has_not_been_mailed():
    s = story(mail_days=1000).run_until("2026-08-31")
    assert s.days_of(engine.SHUTOFF_NOTICE) == [d("2026-05-26")]  # requested once, never again
    assert s.days_of(engine.SHUTOFF) == []
    assert s.decide().shutoff_on > d("2026-08-31")  # planned from the earliest it could still be mailed


def test_hsc_116908_a1c_the_occupant_copy_must_be_mailed_too():
    s = story(state=account(mailing_address="PO Box 9"))
    s.run_until("2026-05-26")
    s.state.shutoff_notice.occupant_copy_on = None  # the copy never reached the mail house
    s.run_until("2026-07-31")
    assert s.days_of(engine.SHUTOFF) == []


def test_gov_60373_the_48_hours_run_from_the_door_hanger_posting_not_the_order():
    s = story(reach_adult=False, posting_days=4).run_until("2026-07-31")
    ordered, = s.days_of(engine.FORTY_EIGHT_HOUR_NOTICE)
    posted = next(day for day, kind in s.given if kind == engine.FORTY_EIGHT_HOUR_NOTICE)
    assert (ordered, posted) == (d("2026-06-18"), d("2026-06-22"))
    assert s.days_of(engine.SHUTOFF) == [d("2026-06-24")]  # 22 June + 48 hours


def test_gov_60373_a_door_hanger_field_staff_could_not_post_is_ordered_again():
    s = story(reach_adult=False, posting_days=1000)
    s.run_until("2026-06-19")
    assert engine.record_not_posted(s.state, engine.FORTY_EIGHT_HOUR_NOTICE, d("2026-06-18"))
    s.posting_days = 0
    s.run_until("2026-07-31")
    assert s.days_of(engine.FORTY_EIGHT_HOUR_NOTICE) == [d("2026-06-18"), d("2026-06-22")]
    assert s.days_of(engine.SHUTOFF) == [d("2026-06-24")]


def test_hsc_116910b_final_notice_counts_from_its_posting_and_its_mailing():
    def certify(state):
        state.medical_certification = MedicalCertification(d("2026-06-15"))
        state.financially_unable = True
        state.payment_plan = _plan("2026-06-15")
    s = story(mail_days=2, posting_days=3).on("2026-06-15", certify).run_until("2026-10-31")
    assert s.days_of(engine.PLAN_DEFAULT_FINAL_NOTICE) == s.days_of(engine.FINAL_NOTICE_POSTING) == [d("2026-09-14")]
    mailed = next(day for day, kind in s.given if kind == engine.PLAN_DEFAULT_FINAL_NOTICE)
    posted = next(day for day, kind in s.given if kind == engine.FINAL_NOTICE_POSTING)
    shutoff, = s.days_of(engine.SHUTOFF)
    assert (mailed, posted) == (d("2026-09-16"), d("2026-09-17"))
    assert CALENDAR.business_days_between(posted, shutoff) >= 5
    assert shutoff == d("2026-10-01")  # mailed 16 Sept + 15 days (Gov. Code 60373)


# --- Gov. Code 60372(c) request windows ----------------------------------------------------------------------

def test_gov_60372c_a_dispute_within_5_days_of_receiving_the_bill_is_in_time():
    from cis_collections.domain.windows import dispute_problem
    mailed = [d("2026-03-03"), d("2026-04-02")]
    assert dispute_problem(mailed, d("2026-04-12")) is None  # received 7 April (5 days), + 5 days
    late = dispute_problem(mailed, d("2026-04-13"))
    assert "Gov. Code 60372(c)" in late and "2026-04-12" in late
    assert "No bill was mailed" in dispute_problem(mailed, d("2026-03-01"))


def test_gov_60372c_an_extension_request_within_13_days_of_the_notice_mailing_is_in_time():
    from cis_collections.domain.windows import extension_problem
    assert extension_problem(None, d("2026-08-01"), "an extension") is None  # no notice yet: no window
    assert extension_problem(d("2026-05-27"), d("2026-06-09"), "an extension") is None
    late = extension_problem(d("2026-05-27"), d("2026-06-10"), "an extension")
    assert "Gov. Code 60372(c)" in late and "2026-06-09" in late
