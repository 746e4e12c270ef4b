"""What the bill run bills from metering's billing determinants (v3): an earlier estimate's
true-up is billed on the bill (re-rating the estimated bill, credits at the price billed); an account metering holds (unresolved read exceptions)
or cannot measure is reported as a run exception, never billed silently or with zero."""
import copy
import importlib
from pathlib import Path
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_billing import tariffs as tariff_cli
from cis_billing.service_layer import bill_runs
from cis_runtime.clock import BusinessClock
from cis_billing.service_layer.services import record_account_opened
from cis_billing.service_layer.tariffs import load_tariff
from v3_determinants import determinant

MARCH = {"cycle": "1", "period_start": date(2026, 3, 1), "period_end": date(2026, 3, 31)}
FEBRUARY = {"cycle": "1", "period_start": date(2026, 2, 1), "period_end": date(2026, 2, 28)}
AUGUST = {"cycle": "1", "period_start": date(2026, 8, 1), "period_end": date(2026, 8, 31)}
SEPTEMBER = {"cycle": "1", "period_start": date(2026, 9, 1), "period_end": date(2026, 9, 30)}
TARIFFS = Path(__file__).resolve().parent.parent / "tariffs"
DEMO_TARIFF = importlib.import_module("cis_billing.migrations.versions.0002_tariff_engine").DEMO_RESIDENTIAL_TARIFF


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
            "select b.account_id, sum(l.quantity) from bills b join bill_lines l using (bill_id) "
            "where l.rule = 'volumetric' group by 1")).all())
        exceptions = {e["account_id"]: e["reason"] for e in bill_runs.get_bill_run(uow, run_id)["exceptions"]}
    # A-CREDIT: no earlier bill of the account billed the estimate, so the credit nets this period's 1 HCF
    # and the 3 HCF beyond it are credited as the period's first units (before: a run exception every retry).
    assert usage == {"A-PLAIN": Decimal("10"), "A-UNDER": Decimal("12.5"), "A-OVER": Decimal("7"),
                     "A-CREDIT": Decimal("-3")}
    assert exceptions == {
        "A-HELD": "held by metering: 1 unresolved read exception(s) in the period: high_consumption",
        "A-NEW": "no read in the period and no history to estimate from"}


def test_an_over_estimate_is_credited_at_the_price_it_was_billed_at_even_beyond_the_periods_use(service_db):
    """A meter ran backwards after February's bill ended on an estimate: the true reading at the estimate's
    instant was 4 HCF lower, and March used 1 HCF at a new rate. March is billed, not a run exception every
    retry: its own 1 HCF at March's $5.00, and the 4 HCF February over-billed credited at February's $3.65 on
    a true-up line naming February's bill (bills are immutable). 12 - 4 + 1 HCF are billed in all."""
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        load_tariff(uow, {**copy.deepcopy(DEMO_TARIFF), "version": 2, "effective_from": "2026-03-01",
                          "adopted_by": "Board Resolution (test)",
                          "charges": [DEMO_TARIFF["charges"][0], {**DEMO_TARIFF["charges"][1], "rate": "5.00"}]})
        record_account_opened(uow, {"account_id": "A-BACK", "bill_cycle": "1", "customer_class": "residential",
                                    "authorized_meter_size": "5/8", "opened_on": date(2025, 7, 1)})
        uow.commit()
    try:
        with uow_factory() as uow:
            february = bill_runs.start_bill_run(uow, FEBRUARY)["run_id"]
        bill_runs.execute_bill_run(uow_factory, february, lambda request: {
            "determinants": [determinant("A-BACK", "12")], "held": [], "missing": []})  # ended on an estimate
        with uow_factory() as uow:
            march = bill_runs.start_bill_run(uow, MARCH)["run_id"]
        bill_runs.execute_bill_run(uow_factory, march, lambda request: {
            "determinants": [determinant("A-BACK", "1", true_ups=["-4"])], "held": [], "missing": []})
        with uow_factory() as uow:
            assert bill_runs.get_bill_run(uow, march)["exceptions"] == []
            [(february_bill,)] = uow.session.execute(sa.text(
                "select bill_id from bills where bill_run_id = :r"), {"r": february}).all()
            lines = uow.session.execute(sa.text(
                "select l.description, l.quantity, l.rate, l.amount, l.true_up_of from bills b "
                "join bill_lines l using (bill_id) where b.bill_run_id = :r and l.rule = 'volumetric' "
                "order by l.line_no"), {"r": march}).all()
            [(total,)] = uow.session.execute(sa.text("select total from bills where bill_run_id = :r"),
                                             {"r": march}).all()
    finally:
        with uow_factory.engine.begin() as db:
            db.execute(sa.text("delete from tariffs where not (tariff_id = 'residential' and version = 1)"))
    assert [tuple(line[1:]) for line in lines] == [(Decimal("1"), Decimal("5.00"), Decimal("5.00"), None),
                                                   (Decimal("-4"), Decimal("3.65"), Decimal("-14.60"), february_bill)]
    assert lines[1][0] == f"True-up of estimated bill {february_bill} (2026-02-01 to 2026-02-28): Water usage"
    assert total == Decimal("20.75") + Decimal("5.00") - Decimal("14.60")


def test_whole_unit_billing_rounds_the_boundary_readings_so_no_unit_is_lost_across_periods(service_db):
    """The multifamily tariff bills whole HCF, truncated. August ended on a reading interpolated to 2047.50
    between whole-HCF daily reads (the 1 September read came late): 268.5 and then 263.5 HCF, truncated
    each as 268 + 263, left one unit billed in no period (the district simulation, seed 20260701). The
    rounding applies to the boundary readings: 2047 - 1779 = 268, then 2311 - 2047 = 264."""
    uow_factory = service_db("billing")
    document = tariff_cli.read_document(TARIFFS / "multifamily-tiered.v1.yaml")
    document["charges"] = [c for c in document["charges"] if c.get("basis") != "winter_average"]
    with uow_factory() as uow:
        load_tariff(uow, document)
        record_account_opened(uow, {"account_id": "A-MF", "bill_cycle": "1", "customer_class": "multi_family",
                                    "authorized_meter_size": "2", "dwelling_units": 24, "opened_on": date(2026, 7, 1)})
        uow.commit()

    def reading(start: str, end: str):
        answer = {**determinant("A-MF", str(Decimal(end) - Decimal(start))), "start_read": start, "end_read": end}
        return lambda request: {"determinants": [answer], "held": [], "missing": []}

    try:
        for period, start, end in ((AUGUST, "1779.00", "2047.50"), (SEPTEMBER, "2047.50", "2311.00")):
            with uow_factory() as uow:
                run_id = bill_runs.start_bill_run(uow, period)["run_id"]
            bill_runs.execute_bill_run(uow_factory, run_id, reading(start, end))
        with uow_factory() as uow:
            billed = uow.session.execute(sa.text(
                "select b.period_start, sum(l.quantity) from bills b join bill_lines l using (bill_id) "
                "where l.rule = 'tiered' group by 1 order by 1")).all()
    finally:
        with uow_factory.engine.begin() as db:
            db.execute(sa.text("delete from tariffs where not (tariff_id = 'residential' and version = 1)"))
    assert [quantity for _, quantity in billed] == [Decimal("268"), Decimal("264")]


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
