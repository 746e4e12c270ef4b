"""Opening and closing bills: a bill run prorates the fixed charge to the days the account had
service in the period (issue 3: "prorated by days for opening/closing bills"), on the demo tariff
($20.75 a month for a 5/8" meter, actual-days proration; $3.65 per HCF)."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cis_billing.service_layer import bill_runs
from cis_billing.service_layer.accounts_view import record_account_closed
from cis_billing.service_layer.services import record_account_opened
from cis_runtime.errors import InvalidInput
from v3_determinants import every_account_used

MARCH = {"cycle": "1", "period_start": date(2026, 3, 1), "period_end": date(2026, 3, 31)}


metering_answer = every_account_used("12")


def open_account(uow, account_id: str, opened_on: date) -> None:
    record_account_opened(uow, {"account_id": account_id, "bill_cycle": "1", "customer_class": "residential",
                                "authorized_meter_size": "5/8", "opened_on": opened_on})


def test_opening_and_closing_bills_prorate_the_monthly_charge_by_days_of_service(service_db):
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        open_account(uow, "A-WHOLE", date(2025, 7, 1))
        open_account(uow, "A-OPENED", date(2026, 3, 17))     # 17-31 March: 15 days
        open_account(uow, "A-CLOSED", date(2025, 7, 1))
        open_account(uow, "A-GONE", date(2025, 7, 1))
        uow.commit()
    with uow_factory() as uow:
        record_account_closed(uow, {"account_id": "A-CLOSED", "closed_on": date(2026, 3, 10), "reason": "move_out",
                                    "final_read_requested": True})  # 1-10 March: 10 days
        record_account_closed(uow, {"account_id": "A-GONE", "closed_on": date(2026, 2, 20), "reason": "move_out",
                                    "final_read_requested": True})  # no service in March
        uow.commit()
        run_id = bill_runs.start_bill_run(uow, MARCH)["run_id"]

    bill_runs.execute_bill_run(uow_factory, run_id, metering_answer)

    with uow_factory() as uow:
        totals = dict(uow.session.execute(sa.text("select account_id, total from bills")).all())
        fixed = dict(uow.session.execute(sa.text(
            "select b.account_id, l.amount from bills b join bill_lines l using (bill_id) "
            "where l.rule = 'fixed_by_meter_size'")).all())
        fixed_days = dict(uow.session.execute(sa.text(
            "select b.account_id, l.days from bills b join bill_lines l using (bill_id) "
            "where l.rule = 'fixed_by_meter_size'")).all())
        run = bill_runs.get_bill_run(uow, run_id)
    usage = Decimal("43.80")  # 12 HCF x 3.65, whatever the days
    assert fixed == {"A-WHOLE": Decimal("20.75"),
                     "A-OPENED": Decimal("10.04"),   # 20.75 x 15/31 = 10.0403
                     "A-CLOSED": Decimal("6.69")}    # 20.75 x 10/31 = 6.6935
    assert fixed_days == {"A-WHOLE": None, "A-OPENED": 15, "A-CLOSED": 10}  # a whole month is not prorated
    assert totals == {account: amount + usage for account, amount in fixed.items()}
    assert (run["accounts_total"], run["bills_issued"], run["exceptions"]) == (3, 3, [])


# --- the District's boundary rule (issue 9, case 2): a period of dates [start, end] is the instants
# [start of start, start of the day after end) in District time; service runs from the start of
# opened_on through the end of closed_on. Every day and every unit of water is billed exactly once.

def one_hcf_a_day(asked: list):
    """A metering stand-in for a meter that advances 1 HCF every day: the use over the period asked
    (its whole days, both ends inclusive); records what was asked."""
    def answer(request: dict) -> dict:
        asked.append(request)
        days = (date.fromisoformat(request["period_end"]) - date.fromisoformat(request["period_start"])).days + 1
        return every_account_used(str(days))(request)
    return answer


def test_a_closing_bill_and_the_next_customers_opening_bill_on_one_connection_split_the_period_exactly(
        service_db):
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        open_account(uow, "A-MOVED-OUT", date(2025, 7, 1))
        open_account(uow, "A-MOVED-IN", date(2026, 3, 11))    # the day after the last day of the old service
        uow.commit()
    with uow_factory() as uow:
        record_account_closed(uow, {"account_id": "A-MOVED-OUT", "closed_on": date(2026, 3, 10),
                                    "reason": "move_out", "final_read_requested": True})
        uow.commit()
        run_id = bill_runs.start_bill_run(uow, MARCH)["run_id"]
    asked = []

    bill_runs.execute_bill_run(uow_factory, run_id, one_hcf_a_day(asked))

    with uow_factory() as uow:
        lines = uow.session.execute(sa.text(
            "select b.account_id, l.rule, l.quantity, l.amount, l.days from bills b join bill_lines l using (bill_id) "
            "order by b.account_id, l.line_no")).all()
    assert sorted((r["account_ids"], r["period_start"], r["period_end"]) for r in asked) == [
        (["A-MOVED-IN"], "2026-03-11", "2026-03-31"), (["A-MOVED-OUT"], "2026-03-01", "2026-03-10")]
    assert [tuple(line) for line in lines] == [
        ("A-MOVED-IN", "fixed_by_meter_size", Decimal("0.677419"), Decimal("14.06"), 21),   # 20.75 x 21/31
        ("A-MOVED-IN", "volumetric", Decimal("21"), Decimal("76.65"), None),
        ("A-MOVED-OUT", "fixed_by_meter_size", Decimal("0.322581"), Decimal("6.69"), 10),  # 20.75 x 10/31
        ("A-MOVED-OUT", "volumetric", Decimal("10"), Decimal("36.50"), None)]
    # the connection's 31 days and 31 HCF of March are each billed once
    assert sum(line.days for line in lines if line.days) == 31
    assert sum(line.quantity for line in lines if line.rule == "volumetric") == 31


def test_consecutive_periods_of_a_cycle_bill_every_day_once_and_an_overlap_or_a_gap_is_refused(service_db):
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        open_account(uow, "A-WHOLE", date(2025, 7, 1))
        uow.commit()
        march = bill_runs.start_bill_run(uow, MARCH)["run_id"]
    bill_runs.execute_bill_run(uow_factory, march, metering_answer)
    with uow_factory() as uow:
        with pytest.raises(InvalidInput) as refused:  # 1 April would never be billed
            bill_runs.start_bill_run(uow, {"cycle": "1", "period_start": date(2026, 4, 2),
                                           "period_end": date(2026, 4, 30)})
        assert "2026-04-01, the day after the cycle's last period" in refused.value.field_errors["period_start"][0]
        overlapping = bill_runs.start_bill_run(uow, {"cycle": "1", "period_start": date(2026, 3, 31),
                                                     "period_end": date(2026, 4, 29)})["run_id"]
        assert bill_runs.start_bill_run(uow, MARCH)["run_id"] == march  # the same period again: the same run
    bill_runs.execute_bill_run(uow_factory, overlapping, metering_answer)
    with uow_factory() as uow:
        april = bill_runs.start_bill_run(uow, {"cycle": "1", "period_start": date(2026, 4, 1),
                                               "period_end": date(2026, 4, 30)})["run_id"]
    bill_runs.execute_bill_run(uow_factory, april, metering_answer)

    with uow_factory() as uow:
        periods = uow.session.execute(sa.text("select period_start, period_end from bills order by 1")).all()
        excepted = bill_runs.get_bill_run(uow, overlapping)["exceptions"]
    assert [tuple(p) for p in periods] == [(date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 4, 30))]
    assert [e["reason"].split(" (bill")[0] for e in excepted] == ["already billed for 2026-03-01 to 2026-03-31"]
