"""What the bill run bills from metering's billing determinants (v3): an earlier estimate's
true-up is billed with the period's use; an account metering holds (unresolved read exceptions)
or cannot measure is reported as a run exception, never billed silently or with zero."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_billing.service_layer import bill_runs
from cis_runtime.clock import BusinessClock
from cis_billing.service_layer.services import record_account_opened
from v3_determinants import determinant

MARCH = {"cycle": "1", "period_start": date(2026, 3, 1), "period_end": date(2026, 3, 31)}


def metering_answer(request: dict) -> dict:
    assert request["estimate_missing_reads"] is True  # the District bills estimates by default
    return {"determinants": [determinant("A-PLAIN", "10"),
                             determinant("A-UNDER", "10", true_ups=["2.5"]),     # estimate was 2.5 HCF low
                             determinant("A-OVER", "10", true_ups=["-3"]),       # estimate was 3 HCF high
                             determinant("A-CREDIT", "1", true_ups=["-4"])],     # more credit than use
            "held": [{"account_id": "A-HELD", "meter_serial": "M-A-HELD", "exception_ids": [7],
                      "reason": "1 unresolved read exception(s) in the period: high_consumption"}],
            "missing": [{"account_id": "A-NEW", "reason": "no read in the period and no history to estimate from"}]}


def test_true_ups_are_billed_with_the_period_and_held_or_unmeasured_accounts_are_exceptions(service_db):
    uow_factory = service_db("billing")
    accounts = ["A-PLAIN", "A-UNDER", "A-OVER", "A-CREDIT", "A-HELD", "A-NEW"]
    with uow_factory() as uow:
        for account_id in accounts:
            record_account_opened(uow, {"account_id": account_id, "bill_cycle": "1", "customer_class": "residential",
                                        "authorized_meter_size": "5/8", "opened_on": date(2025, 7, 1)})
        uow.commit()
        run_id = bill_runs.start_bill_run(uow, MARCH)["run_id"]

    bill_runs.execute_bill_run(uow_factory, run_id, metering_answer)

    with uow_factory() as uow:
        usage = dict(uow.session.execute(sa.text(
            "select b.account_id, l.quantity from bills b join bill_lines l using (bill_id) "
            "where l.rule = 'volumetric'")).all())
        exceptions = {e["account_id"]: e["reason"] for e in bill_runs.get_bill_run(uow, run_id)["exceptions"]}
    assert usage == {"A-PLAIN": Decimal("10"), "A-UNDER": Decimal("12.5"), "A-OVER": Decimal("7")}
    assert exceptions == {
        "A-CREDIT": "negative consumption -3 HCF",
        "A-HELD": "held by metering: 1 unresolved read exception(s) in the period: high_consumption",
        "A-NEW": "no read in the period and no history to estimate from"}


def test_an_account_metering_held_is_billed_for_the_period_once_its_read_is_resolved(service_db):
    """A run exception is not the end of the period: on a later business day the run tries its
    exceptions again, and the account released by metering gets the period's bill, issued that day."""
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        BusinessClock(uow.session).set(date(2026, 4, 2))
        for account_id in ("A-PLAIN", "A-HELD"):
            record_account_opened(uow, {"account_id": account_id, "bill_cycle": "1", "customer_class": "residential",
                                        "authorized_meter_size": "5/8", "opened_on": date(2025, 7, 1)})
        uow.commit()
        run_id = bill_runs.start_bill_run(uow, MARCH)["run_id"]
    asked = []

    def metering(held: bool):
        def answer(request):
            asked.append(sorted(request["account_ids"]))
            ids = [a for a in request["account_ids"] if a != "A-HELD" or not held]
            return {"determinants": [determinant(a, "10") for a in ids], "missing": [],
                    "held": [{"account_id": "A-HELD", "meter_serial": "M-A-HELD", "exception_ids": [7],
                              "reason": "1 unresolved read exception(s) in the period: high_use"}] if held else []}
        return answer

    bill_runs.execute_due_bill_runs(uow_factory, metering(held=True))
    bill_runs.execute_due_bill_runs(uow_factory, metering(held=False))  # the same day: not tried again
    with uow_factory() as uow:
        assert [e["account_id"] for e in bill_runs.get_bill_run(uow, run_id)["exceptions"]] == ["A-HELD"]
        BusinessClock(uow.session).set(date(2026, 4, 9))  # staff accepted the reading; a later day
        uow.commit()

    bill_runs.execute_due_bill_runs(uow_factory, metering(held=False))
    bill_runs.execute_due_bill_runs(uow_factory, metering(held=False))

    assert asked == [["A-HELD", "A-PLAIN"], ["A-HELD"]]  # only the exception was asked for again, once
    with uow_factory() as uow:
        run = bill_runs.get_bill_run(uow, run_id)
        bills = uow.session.execute(sa.text(
            "select account_id, period_start, period_end, issued_on, due_on from bills order by account_id")).all()
    assert (run["status"], run["bills_issued"], run["exceptions"]) == ("completed", 2, [])
    assert bills == [("A-HELD", date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 9), date(2026, 4, 30)),
                     ("A-PLAIN", date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 2), date(2026, 4, 23))]
