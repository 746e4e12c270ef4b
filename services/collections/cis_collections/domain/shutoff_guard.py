"""The statutory shutoff guard: the rules restated directly, not through the engine's code.

The engine (engine.py) plans a shutoff from the timeline it builds; this module checks the account's
state on the day, section by section (H&S Code 116900-116926, Gov. Code 60370-60375.5), before the
service orders one (service_layer/timeline.py). A shutoff the guard forbids is not ordered: it is
held, with the reasons in the action log and on the staff worklist, and checked again each day. The
property test (tests/test_collections_engine_properties.py) holds the engine to it.
"""
from datetime import date, timedelta

from cis_collections.domain.engine import AccountState


def forbidden_reasons(state: AccountState, day: date, calendar, policy) -> list[str]:
    """Every reason the statutes forbid shutting off this account's service on `day`, each with its
    section (empty: the shutoff may go ahead). `policy` is the District's; the statutory floors here do
    not depend on it."""
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
