"""Opening and closing bills: a bill run prorates the fixed charge to the days the account had
service in the period (issue 3: "prorated by days for opening/closing bills"), on the demo tariff
($20.75 a month for a 5/8" meter, actual-days proration; $3.65 per HCF)."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_billing.service_layer import bill_runs
from cis_billing.service_layer.accounts_view import record_account_closed
from cis_billing.service_layer.services import record_account_opened
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
