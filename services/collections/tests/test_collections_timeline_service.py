"""The collections timeline in the running service: account facts in, engine on the business clock,
notices and work orders out through the outbox, staff decisions through RPC."""
from decimal import Decimal

import pytest

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import get
from cis_runtime.errors import InvalidInput
from cis_runtime.testing import wait_for
from test_collections_service import PAYMENT_POSTED, payment_posted, query, receive_bill

ACCOUNT_OPENED = "accounts.account_opened.v1"
COLLECTION_NOTICE = "collections.collection_notice_requested.v1"
SHUTOFF_ORDERED = "collections.shutoff_ordered.v1"
RECONNECT_ORDERED = "collections.reconnect_ordered.v1"
NOTICE_POSTING_ORDERED = "collections.notice_posting_ordered.v1"
NOTICE_DISPATCHED = "notifications.notice_dispatched.v1"
WORK_ORDER_COMPLETED = "operations.work_order_completed.v1"


def outbox(name: str) -> list[dict]:
    rows = query("select envelope from outbox where message_name = :n order by id", n=name)
    return [open_envelope(envelope)[1] for (envelope,) in rows]


def open_account(publish, **changes):
    payload = dict(get(ACCOUNT_OPENED).examples()[0])
    payload.update(account_id="A0000001", **changes)
    publish(ACCOUNT_OPENED, payload)
    wait_for(lambda: query("select apn from collection_accounts where account_id = 'A0000001'") == [
        (payload["apn"],)], message="account facts recorded")
    return payload


def mail_house_mails(publish, *notices, on: str):
    """What notifications reports once the mail house has the printed letters."""
    for notice in notices:
        publish(NOTICE_DISPATCHED, {
            "dispatch_id": f"{notice['notice_id']}-mail", "notice_id": notice["notice_id"],
            "account_id": notice["account_id"], "notice_kind": notice["kind"], "channel": "mail",
            "dispatched_on": on, "addressee": notice["addressee"], "address": notice["address"],
            "document": f"{on}/{notice['notice_id']}.html"})
    ids = [n["notice_id"] for n in notices]
    wait_for(lambda: query("select count(*) from notices where notice_id = any(:ids) and given_on is not null",
                           ids=ids) == [(len(ids),)], message="mailing recorded")


def operations_reports(publish, order_id, kind, completed_at, outcome="done", reason=None):
    publish(WORK_ORDER_COMPLETED, {"work_order_id": order_id, "kind": kind, "completed_at": completed_at,
                                   "outcome": outcome, "reason": reason, "crew": "Crew 1"})
    wait_for(lambda: query("select status from work_orders where order_id = :o", o=order_id) != [("ordered",)],
             message=f"work order {order_id} reported")


def run_on(collections, *days):
    for day in days:
        collections.set_business_date(day)
        collections.run_daily()


@pytest.fixture
def collections(running_services, rpc):
    running_services("collections")
    rpc.collections.set_business_date("2026-04-02")
    return rpc.collections


def test_hsc_116908_shutoff_notice_with_occupant_copy_then_48_hour_notice_shutoff_and_reconnection(
        collections, publish):
    open_account(publish)  # mailing address PO Box 112 differs from the service address
    receive_bill(publish)  # 64.55 issued 2 April, due 23 April
    run_on(collections, "2026-04-24", "2026-05-26")
    notice, occupant = outbox(COLLECTION_NOTICE)
    assert (notice["kind"], notice["addressee"], notice["address"]) == (
        "shutoff_notice", "Ana Reyes", "PO Box 112, Ojai, CA 93024")
    assert (occupant["kind"], occupant["addressee"], occupant["address"]) == (
        "occupant_notice", "Occupant", "12 Orchard Ln, Ojai, CA 93023")
    assert notice["shutoff_on"].isoformat() == "2026-06-23" and notice["amount_delinquent"] == Decimal("64.55")
    assert notice["rule"]["citation"].startswith("H&S 116908")
    mail_house_mails(publish, notice, occupant, on="2026-05-27")

    status = collections.collections_status("A0000001")
    assert status["shutoff_on"] == "2026-06-23"
    assert [(r["code"], r["citation"]) for r in status["shutoff_set_by"]] == [
        ("min_60_days_delinquent", "H&S 116908(a)(1)(A)")]
    assert [(u["kind"], u["on"]) for u in status["upcoming"]][:1] == [("contact_attempt", "2026-06-17")]

    collections.set_business_date("2026-06-17")
    worklist = collections.worklist("2026-06-17")
    assert [(i["kind"], i["on"], i["rule"]["citation"]) for i in worklist["items"]] == [
        ("late_penalty", "2026-06-01", "District policy (penalties in the Board-adopted rates)"),  # no run since
        ("contact_attempt", "2026-06-17", "Gov. Code 60373; H&S 116908(a)(2)")]
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": False})
    run_on(collections, "2026-06-17", "2026-06-18")
    assert [n["kind"] for n in outbox(COLLECTION_NOTICE)][2:] == ["forty_eight_hour_notice"]
    [posting] = outbox(NOTICE_POSTING_ORDERED)
    assert (posting["notice_kind"], posting["work"], posting["post_on"].isoformat()) == (
        "forty_eight_hour_notice", "post_notice_at_premises", "2026-06-17")
    # the crew gets to the door only on Monday 22 June: the 48 hours run from then (Gov. Code 60373)
    operations_reports(publish, posting["order_id"], "door_hanger_posted", "2026-06-22T16:30:00-07:00")
    wait_for(lambda: query("select forty_eight_hour_notice_on::text from collection_accounts") == [("2026-06-22",)],
             message="door hanger posting recorded")
    run_on(collections, "2026-06-22", "2026-06-23")
    assert outbox(SHUTOFF_ORDERED) == []
    status = collections.collections_status("A0000001")
    assert status["shutoff_on"] == "2026-06-24"
    assert [r["code"] for r in status["shutoff_set_by"]] == ["forty_eight_hour_contact"]
    run_on(collections, "2026-06-24")
    [order] = outbox(SHUTOFF_ORDERED)
    assert (order["work"], order["scheduled_on"].isoformat(), order["apn"]) == (
        "seal_and_lock_meter", "2026-06-24", "011-222-333")
    # H&S 116918 counts the shutoff once the crew has locked the meter, not when it is ordered
    assert collections.discontinuation_count(2026)["residential_discontinuations_for_nonpayment"] == 0
    operations_reports(publish, order["order_id"], "shutoff", "2026-06-24T09:15:00-07:00")
    wait_for(lambda: collections.discontinuation_count(2026)["residential_discontinuations_for_nonpayment"] == 1,
             message="shutoff counted")

    # the customer pays: the reconnect order goes out at once
    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-06-24"))
    wait_for(lambda: outbox(RECONNECT_ORDERED), message="reconnect ordered")
    [reconnect] = outbox(RECONNECT_ORDERED)
    assert (reconnect["shutoff_order_id"], reconnect["reason"], reconnect["work"]) == (
        order["order_id"], "paid", "unseal_meter")
    assert query("select kind, rule_code from collection_actions where kind in ('shutoff', 'reconnect') "
                 "order by action_id") == [("shutoff", "forty_eight_hour_contact"), ("reconnect", "reconnection")]
    assert collections.discontinuation_count(2025)["residential_discontinuations_for_nonpayment"] == 0
    operations_reports(publish, reconnect["order_id"], "reconnect", "2026-06-24T15:40:00-07:00")
    assert query("select kind, status, completed_on::text from work_orders order by order_id") == [
        ("post_notice", "done", "2026-06-22"), ("shutoff", "done", "2026-06-24"), ("reconnect", "done", "2026-06-24")]
    assert collections.discontinuation_count(2026)["residential_discontinuations_for_nonpayment"] == 1


def test_hsc_116918_a_shutoff_never_carried_out_is_not_counted_and_leaves_no_reconnect_fee(collections, publish):
    open_account(publish, mailing_address=dict(get(ACCOUNT_OPENED).examples()[0]["service_address"]))
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    mail_house_mails(publish, *outbox(COLLECTION_NOTICE), on="2026-05-26")
    collections.set_business_date("2026-06-17")
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": True})
    run_on(collections, "2026-06-23")
    [order] = outbox(SHUTOFF_ORDERED)
    # the customer pays that morning, before the crew arrives
    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-06-23"))
    wait_for(lambda: outbox(RECONNECT_ORDERED), message="reconnect ordered")
    operations_reports(publish, order["order_id"], "shutoff", "2026-06-23T11:00:00-07:00",
                       outcome="could_not_complete", reason="Order cancelled: customer paid")
    wait_for(lambda: query("select status from work_orders where kind = 'reconnect'") == [("cancelled",)],
             message="reconnect cancelled")
    assert query("select status, fee_normal_hours, fee_after_hours from work_orders order by order_id") == [
        ("could_not_complete", None, None), ("cancelled", Decimal("0.00"), Decimal("0.00"))]
    assert collections.discontinuation_count(2026)["residential_discontinuations_for_nonpayment"] == 0
    assert collections.collections_status("A0000001")["disconnected"] is False


def test_gov_60373_no_shutoff_until_the_mail_house_has_mailed_the_notice(collections, publish):
    open_account(publish, mailing_address=dict(get(ACCOUNT_OPENED).examples()[0]["service_address"]))
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    [notice] = outbox(COLLECTION_NOTICE)
    collections.set_business_date("2026-06-17")
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": True})
    run_on(collections, "2026-06-23", "2026-06-24")
    assert outbox(SHUTOFF_ORDERED) == []  # requested is not given
    # mailed late, on 12 June: 5 + 10 days from the mailing (Gov. Code 60373) -> 27 June, a Saturday -> 29 June
    mail_house_mails(publish, notice, on="2026-06-12")
    collections.set_business_date("2026-06-25")
    status = collections.collections_status("A0000001")
    assert status["shutoff_on"] == "2026-06-29"
    assert [r["code"] for r in status["shutoff_set_by"]] == ["no_weekend_holiday_closure",
                                                              "ten_days_after_five_day_mailing"]
    assert query("select kind, business_date::text from collection_actions where kind like '%mailed'") == [
        ("shutoff_notice_mailed", "2026-06-12")]


def test_gov_60372_an_appeal_recorded_the_day_before_shutoff_blocks_it(collections, publish):
    open_account(publish)
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    collections.set_business_date("2026-06-22")
    with pytest.raises(InvalidInput) as error:  # a bill dispute is long out of time (Gov. Code 60372(c)) ...
        collections.record_appeal({"account_id": "A0000001"})
    assert "filed_on" in str(error.value) and "60372(c)" in str(error.value)
    # ... but an appeal under the District's policy (H&S 116908) has no window
    status = collections.record_appeal({"account_id": "A0000001", "kind": "appeal"})
    assert [b["rule"]["citation"] for b in status["blocked_by"]] == ["H&S 116908; Gov. Code 60372"]
    assert status["shutoff_on"] is None
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": True, "attempted_on": "2026-06-17"})
    run_on(collections, "2026-06-23", "2026-06-24")
    assert outbox(SHUTOFF_ORDERED) == []


def test_gov_60372_payment_plan_over_at_most_12_months_and_staff_errors_name_the_field(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-05-01")
    with pytest.raises(InvalidInput) as error:
        collections.agree_payment_plan({"account_id": "A0000001", "months": 13, "first_due_on": "2026-05-15"})
    assert "months" in str(error.value)
    status = collections.agree_payment_plan({"account_id": "A0000001", "months": 3, "first_due_on": "2026-05-15"})
    assert [b["rule"]["code"] for b in status["blocked_by"]] == ["payment_plan_in_good_standing"]
    assert query("select amount::text from plan_installments order by seq") == [("21.52",), ("21.52",), ("21.51",)]
    with pytest.raises(InvalidInput) as error:
        collections.grant_extension({"account_id": "A0000001", "until": "2026-04-01"})
    assert "until" in str(error.value)


def test_gov_54984_9_lien_recorded_per_apn_and_released_when_paid_in_full(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-08-01")
    recorded = collections.record_liens({"min_days_delinquent": 90})["liens"]
    assert [(lien["apn"], lien["owner_of_record"], lien["amount"]) for lien in recorded] == [
        ("011-222-333", "Ana Reyes", "64.55")]
    assert collections.record_liens({"min_days_delinquent": 90})["liens"] == recorded  # one open lien per APN
    [event] = outbox("collections.lien_recorded.v1")
    assert (event["apn"], event["amount"]) == ("011-222-333", Decimal("64.55"))

    publish(PAYMENT_POSTED, payment_posted(amount="64.55", received_on="2026-08-03"))
    wait_for(lambda: query("select paid from receivables where bill_id = 'B0000002'") == [(Decimal("64.55"),)],
             message="payment applied")
    run_on(collections, "2026-08-03")
    [released] = outbox("collections.lien_released.v1")
    assert (released["lien_id"], released["released_on"].isoformat()) == (recorded[0]["lien_id"], "2026-08-03")


def test_hsc_5473_delinquent_list_hearing_workflow_and_auditor_file(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-07-01")
    listed = collections.prepare_delinquent_list({"tax_year": 2026, "as_of": "2026-07-01", "min_days_delinquent": 60})
    assert [(i["apn"], i["owner_of_record"], i["amount"], i["roll"]) for i in listed["items"]] == [
        ("011-222-333", "Ana Reyes", "64.55", "secured")]
    with pytest.raises(InvalidInput) as error:
        collections.delinquent_list_step({"tax_year": 2026, "step": "notice", "mailed_on": "2026-07-15",
                                          "published_on": ["2026-07-10", "2026-07-17"], "hearing_on": "2026-07-21"})
    assert "mailed_on" in str(error.value) and "published_on" in str(error.value)
    steps = get("collections.delinquent_list_step_request.v1").examples()
    for step in steps[:3]:
        listed = collections.delinquent_list_step(step)
    assert listed["status"] == "heard" and listed["items"][0]["adjusted_amount"] == "80.00"
    listed = collections.delinquent_list_step(steps[3])
    assert listed["status"] == "filed"
    assert listed["auditor_file"] == ("tax_year,apn,owner_of_record,amount,roll\n"
                                      "2026,011-222-333,Ana Reyes,80.00,secured\n")


def test_hsc_116916_a_landlord_of_record_on_a_multi_unit_parcel_gets_tenant_notices(collections, publish):
    open_account(publish, dwelling_units=4)  # the owner of record is the customer of a 4-unit parcel
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    tenant = [n for n in outbox(COLLECTION_NOTICE) if n["kind"] == "tenant_notice"]
    assert [(n["addressee"], n["address"], n["may_become_customer_without_arrears"]) for n in tenant] == [
        ("Residential occupants", "12 Orchard Ln, Ojai, CA 93023", True)]
    assert tenant[0]["rule"]["citation"] == "H&S 116916; Gov. Code 60371"


def test_staff_calls_name_the_bad_field_and_unknown_accounts_are_not_found(collections, publish):
    from cis_runtime.errors import NotFound
    with pytest.raises(NotFound):
        collections.collections_status("A9999999")
    with pytest.raises(InvalidInput) as error:
        collections.worklist("June 17")
    assert "business_date" in str(error.value)
    with pytest.raises(InvalidInput) as error:
        collections.record_contact_attempt({"account_id": "A0000001"})
    assert "reached_adult" in str(error.value)


LATE_PENALTY_REQUESTED = "collections.late_penalty_requested.v1"
ADJUSTMENT_POSTED = "billing.adjustment_posted.v1"


def adjustment_posted(adjustment_id, kind, amount, posted_on, reference, balance_due):
    example = get(ADJUSTMENT_POSTED).examples()[0]
    return {**example, "adjustment_id": adjustment_id, "account_id": "A0000001", "kind": kind, "amount": amount,
            "posted_on": posted_on, "reference": reference, "balance_due": balance_due,
            "lines": [{**example["lines"][0], "amount": amount}]}


def test_late_penalties_are_requested_from_billing_and_what_it_posts_is_owed(collections, publish):
    open_account(publish)
    receive_bill(publish)  # 64.55 due 23 April
    run_on(collections, "2026-04-24")
    [basic] = outbox(LATE_PENALTY_REQUESTED)
    assert (basic["request_id"], basic["kind"], basic["bill_id"], basic["current_charges"], basic["waive_interest"]) == (
        "LP-B0000002-basic", "basic", "B0000002", Decimal("64.55"), False)

    publish(ADJUSTMENT_POSTED, adjustment_posted("J0000031", "late_penalty", "6.46", "2026-04-24",
                                                 basic["request_id"], "71.01"))
    wait_for(lambda: collections.account_status("A0000001")["past_due_amount"] == "64.55", message="penalty recorded")
    collections.set_business_date("2026-04-25")
    assert collections.collections_status("A0000001")["past_due_amount"] == "71.01"  # owed from the day after

    run_on(collections, "2026-05-23")  # 30 days past due: the monthly penalty on the bill, not on the penalty
    monthly = outbox(LATE_PENALTY_REQUESTED)[1]
    assert (monthly["request_id"], monthly["kind"], monthly["past_due"], monthly["months"]) == (
        "LP-A0000001-2026-05", "monthly", Decimal("64.55"), 1)
    # a staff credit pays like a payment: the penalty (oldest last) stays owed
    publish(ADJUSTMENT_POSTED, adjustment_posted("J0000040", "credit", "-64.55", "2026-05-23", "leak_adjustment",
                                                 "6.46"))
    wait_for(lambda: collections.collections_status("A0000001")["past_due_amount"] == "6.46", message="credit applied")
    run_on(collections, "2026-05-24", "2026-06-30")
    assert len(outbox(LATE_PENALTY_REQUESTED)) == 2  # nothing more: a penalty alone draws no penalty


def test_hsc_116914_a2_a_low_income_household_s_interest_is_waived_once_in_12_months(collections, publish):
    open_account(publish)
    receive_bill(publish)
    collections.set_business_date("2026-04-20")
    collections.set_account_flags({"account_id": "A0000001", "low_income": True, "low_income_evidence": "calfresh",
                           "low_income_verified_on": "2026-04-20", "changed_by": "clerk7"})
    run_on(collections, "2026-04-24", "2026-05-23", "2026-06-01")
    assert [(r["kind"], r["waive_interest"]) for r in outbox(LATE_PENALTY_REQUESTED)] == [
        ("basic", False), ("monthly", True), ("monthly", False)]
    assert outbox(LATE_PENALTY_REQUESTED)[1]["rule"] == "H&S 116914(a)(2)"


def test_gov_60372c_a_dispute_within_5_days_of_receiving_the_bill_and_an_extension_within_13_days_of_the_notice(
        collections, publish):
    open_account(publish)
    receive_bill(publish)  # mailed 2 April: received 7 April, disputable to 12 April
    collections.set_business_date("2026-04-13")
    with pytest.raises(InvalidInput) as error:
        collections.record_appeal({"account_id": "A0000001", "filed_on": "2026-04-13"})
    assert "filed_on" in error.value.field_errors and "60372(c)" in error.value.field_errors["filed_on"][0]
    collections.record_appeal({"account_id": "A0000001", "filed_on": "2026-04-12"})  # recorded a day late
    assert query("select kind, filed_on::text, resolved_on from appeals") == [("dispute", "2026-04-12", None)]
    collections.record_appeal({"account_id": "A0000001", "resolved_on": "2026-04-20"})
    assert query("select kind, filed_on::text from appeals") == [("dispute", "2026-04-12")]

    run_on(collections, "2026-04-24", "2026-05-26")
    notice, occupant = outbox(COLLECTION_NOTICE)
    mail_house_mails(publish, notice, occupant, on="2026-05-27")  # the window runs from the mailing
    collections.set_business_date("2026-06-10")
    with pytest.raises(InvalidInput) as error:
        collections.grant_extension({"account_id": "A0000001", "until": "2026-07-10"})
    assert "requested_on" in error.value.field_errors and "2026-06-09" in error.value.field_errors["requested_on"][0]
    with pytest.raises(InvalidInput) as error:
        collections.agree_payment_plan({"account_id": "A0000001", "months": 3, "first_due_on": "2026-06-15"})
    assert "60372(c)" in error.value.field_errors["requested_on"][0]
    with pytest.raises(InvalidInput) as error:
        collections.grant_extension({"account_id": "A0000001", "until": "2026-07-10", "requested_on": "2026-06-11"})
    assert "requested_on" in error.value.field_errors  # not after the business date
    status = collections.grant_extension({"account_id": "A0000001", "until": "2026-07-10",
                                          "requested_on": "2026-06-09"})  # asked by phone in time
    assert [b["rule"]["code"] for b in status["blocked_by"]] == ["no_shutoff_during_extension"]


def test_hsc_116910a_a_plan_with_a_medical_certification_is_agreed_whenever_it_is_asked(collections, publish):
    open_account(publish, mailing_address=dict(get(ACCOUNT_OPENED).examples()[0]["service_address"]))
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    mail_house_mails(publish, *outbox(COLLECTION_NOTICE), on="2026-05-26")
    collections.set_business_date("2026-06-15")
    collections.record_medical_certification({"account_id": "A0000001", "certified_on": "2026-06-15",
                                              "financially_unable": True})
    status = collections.agree_payment_plan({"account_id": "A0000001", "months": 3, "first_due_on": "2026-07-15"})
    assert [b["rule"]["code"] for b in status["blocked_by"]] == ["medical_protection"]


def test_hsc_116916_staff_flag_a_tenant_occupied_single_family_rental_and_its_tenants_are_notified(
        collections, publish):
    open_account(publish)  # a single dwelling unit: not known to be a rental
    receive_bill(publish)
    collections.set_business_date("2026-05-01")
    collections.set_account_flags({"account_id": "A0000001", "tenant_occupied": True, "changed_by": "clerk7"})
    run_on(collections, "2026-05-26")
    assert [n["kind"] for n in outbox(COLLECTION_NOTICE)] == ["shutoff_notice", "occupant_notice", "tenant_notice"]
    assert query("select kind, citation, reference from collection_actions where kind like 'tenant_occupied%'") == [
        ("tenant_occupied_true", "H&S 116916; Gov. Code 60371", "clerk7")]


def test_hsc_116914b_low_income_status_needs_the_evidence_and_the_day_it_was_verified(collections, publish):
    open_account(publish)
    receive_bill(publish)
    with pytest.raises(InvalidInput) as error:
        collections.set_account_flags({"account_id": "A0000001", "low_income": True, "changed_by": "clerk7"})
    assert set(error.value.field_errors) == {"low_income_evidence", "low_income_verified_on"}
    with pytest.raises(InvalidInput) as error:
        collections.set_account_flags({"account_id": "A0000001", "low_income": True, "low_income_evidence": "lottery",
                                       "low_income_verified_on": "2026-04-01", "changed_by": "clerk7"})
    assert "low_income_evidence" in error.value.field_errors
    collections.set_account_flags({"account_id": "A0000001", "low_income": True, "low_income_evidence": "medi_cal",
                                   "low_income_verified_on": "2026-04-01", "changed_by": "clerk7"})
    assert query("select low_income, low_income_evidence, low_income_verified_on::text, flags_changed_by "
                 "from collection_accounts") == [(True, "medi_cal", "2026-04-01", "clerk7")]


def test_the_consumers_accept_every_adjustment_and_work_order_report_example(collections, publish):
    from cis_runtime.testing import dead_letters
    open_account(publish)
    for example in get(ADJUSTMENT_POSTED).examples():
        publish(ADJUSTMENT_POSTED, example)
    for example in get(WORK_ORDER_COMPLETED).examples():  # orders collections never issued: not ours
        publish(WORK_ORDER_COMPLETED, example)
    wait_for(lambda: query("select count(*) from adjustments") == [(len(get(ADJUSTMENT_POSTED).examples()),)],
             message="adjustments recorded")
    wait_for(lambda: query("select count(*) from inbox where consumer = 'collections.on_work_order_completed'") == [
        (len(get(WORK_ORDER_COMPLETED).examples()),)], message="reports consumed")
    assert dead_letters("collections.on_adjustment_posted") == []
    assert dead_letters("collections.on_work_order_completed") == []


def test_a_mailing_report_for_a_notice_collections_never_requested_is_dead_lettered(collections, publish):
    from cis_runtime.testing import dead_letters
    open_account(publish)
    [example] = [e for e in get(NOTICE_DISPATCHED).examples() if e["channel"] == "mail"]
    publish(NOTICE_DISPATCHED, {**example, "account_id": "A0000001"})
    [(headers, _)] = wait_for(lambda: dead_letters("collections.on_notice_dispatched"), message="dead letter")
    assert "requested no notice N0000007" in headers["x-cis-error"]


def test_gov_60373_a_door_hanger_the_crew_could_not_post_is_ordered_again(collections, publish):
    open_account(publish, mailing_address=dict(get(ACCOUNT_OPENED).examples()[0]["service_address"]))
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    mail_house_mails(publish, *outbox(COLLECTION_NOTICE), on="2026-05-26")
    collections.set_business_date("2026-06-17")
    collections.record_contact_attempt({"account_id": "A0000001", "reached_adult": False})
    run_on(collections, "2026-06-17")
    [first] = outbox(NOTICE_POSTING_ORDERED)
    operations_reports(publish, first["order_id"], "door_hanger_posted", "2026-06-17T17:00:00-07:00",
                       outcome="could_not_complete", reason="Gate locked, dog in yard")
    run_on(collections, "2026-06-18")
    second = outbox(NOTICE_POSTING_ORDERED)[1]
    assert (second["post_on"].isoformat(), second["notice_kind"]) == ("2026-06-18", "forty_eight_hour_notice")
    run_on(collections, "2026-06-23")
    assert outbox(SHUTOFF_ORDERED) == []  # nothing posted yet: no 48-hour notice, no shutoff


def test_gov_60373_the_worklist_by_account_says_what_is_due_why_and_what_blocks_a_shutoff(collections, publish):
    open_account(publish, mailing_address=dict(get(ACCOUNT_OPENED).examples()[0]["service_address"]))
    receive_bill(publish)
    run_on(collections, "2026-04-24", "2026-05-26")
    mail_house_mails(publish, *outbox(COLLECTION_NOTICE), on="2026-05-26")
    collections.set_business_date("2026-06-17")
    [entry] = collections.worklist_v2()["accounts"]
    assert (entry["account_id"], entry["customer_name"], entry["past_due_amount"], entry["blocked_by"]) == (
        "A0000001", "Ana Reyes", "64.55", [])
    contact = [a for a in entry["due"] if a["kind"] == "contact_attempt"]
    assert [(a["on"], a["rule"]["citation"]) for a in contact] == [("2026-06-17", "Gov. Code 60373; H&S 116908(a)(2)")]
    assert "48 hours" in contact[0]["why"]
    assert entry["shutoff_on"] == "2026-06-23"

    collections.record_appeal({"account_id": "A0000001", "kind": "appeal"})
    [entry] = collections.worklist_v2("2026-06-17")["accounts"]
    assert [a["kind"] for a in entry["due"] if a["kind"] == "contact_attempt"] == []  # nothing to do while held
    assert [(b["rule"]["code"], b["rule"]["citation"]) for b in entry["blocked_by"]] == [
        ("no_shutoff_during_appeal", "H&S 116908; Gov. Code 60372")]
    assert entry["shutoff_on"] is None
    with pytest.raises(InvalidInput, match="business_date"):
        collections.worklist_v2("17 June")
