"""Billing-read estimation and true-up (metering.billing_determinants, v3): a missing end read is
estimated from the meter's average daily use, else the same period last year; the estimate is stored
and the next period starts from it; an actual read later trues it up explicitly; a meter estimated
too many periods in a row gets a field check; no history at all stays missing, never a zero bill."""

import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for
from cis_runtime.errors import Conflict
from cis_runtime.testing import drain_queue, wait_for


def rows(sql: str, **params):
    with engine_for("metering").connect() as db:
        return db.execute(sa.text(sql), params).all()


def start(running_services, rpc):
    running_services("metering")
    rpc.metering.set_business_date("2026-02-02")


def meter_on_account(rpc, serial, account_id, installed_on, initial_read="0"):
    rpc.metering.register_meter({"serial": serial, "size": "5/8"})
    rpc.metering.install_meter({"serial": serial, "connection_id": f"SC-{account_id}", "installed_on": installed_on,
                                "initial_read": initial_read})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values (:a, :c, 'open', :on)"),
                   {"a": account_id, "c": f"SC-{account_id}", "on": installed_on})


def manual(rpc, serial, read_at, value):
    rpc.metering.enter_manual_read({"meter_serial": serial, "read_at": read_at, "value": value,
                                    "reader": "rvaldez", "reason": "route"})


def determinants(rpc, period_start, period_end, *account_ids, estimate=True):
    return rpc.metering.billing_determinants({"period_start": period_start, "period_end": period_end,
                                              "account_ids": list(account_ids), "estimate_missing_reads": estimate})


def january(rpc, *account_ids, estimate=True):
    return determinants(rpc, "2026-01-01", "2026-01-31", *account_ids, estimate=estimate)


def with_average_daily_use_of_one_hcf(rpc):
    """M-1: 60 HCF over the 60 days before 1 January (1 HCF a day), then no read in January."""
    meter_on_account(rpc, "M-1", "A1", "2025-10-01")
    manual(rpc, "M-1", "2025-11-02T00:00:00-08:00", "30.00")
    manual(rpc, "M-1", "2026-01-01T00:00:00-08:00", "90.00")


def test_a_missing_end_read_is_estimated_from_average_daily_use_stored_and_the_same_when_asked_again(
        running_services, rpc):
    start(running_services, rpc)
    with_average_daily_use_of_one_hcf(rpc)

    [determinant] = january(rpc, "A1")["determinants"]

    # 90.00 + 1 HCF/day x 31 days to the end of January.
    assert (determinant["start_read"], determinant["end_read"], determinant["end_read_at"],
            determinant["consumption"], determinant["quality"]) == (
        "90.00", "121.00", "2026-02-01T00:00:00-08:00", "31.00", "estimated")
    [estimate] = determinant["estimates"]
    assert (estimate["method"], estimate["value"], estimate["consecutive_periods"]) == (
        "average_daily_use", "121.00", 1)
    assert (estimate["basis"]["from_read"]["value"], estimate["basis"]["to_read"]["value"],
            estimate["basis"]["days"], estimate["basis"]["daily_use"]) == ("30.00", "90.00", "60.00", "1.0000")
    assert [(read["source"], read["quality"]) for read in determinant["source_reads"]] == [
        ("manual", "actual"), ("billing_estimate", "estimated")]
    assert determinant["true_ups"] == []
    assert rows("select meter_serial, value, method, consecutive from billing_estimates") == [
        ("M-1", 121, "average_daily_use", 1)]

    assert january(rpc, "A1")["determinants"] == [determinant]  # asked again: the same estimate
    assert len(rows("select 1 from billing_estimates")) == 1


def test_without_the_estimation_option_a_missing_end_read_stays_missing(running_services, rpc):
    start(running_services, rpc)
    with_average_daily_use_of_one_hcf(rpc)
    result = january(rpc, "A1", estimate=False)
    assert result["determinants"] == []
    assert result["missing"] == [{"account_id": "A1", "reason": "no read in the period"}]
    assert rows("select count(*) from billing_estimates") == [(0,)]


def test_an_account_with_no_history_at_all_stays_missing_never_a_zero_bill(running_services, rpc):
    start(running_services, rpc)
    meter_on_account(rpc, "M-2", "A2", "2025-12-31", initial_read="5")
    result = january(rpc, "A2")
    assert result["determinants"] == []
    assert result["missing"] == [{"account_id": "A2",
                                  "reason": "no read in the period and no history to estimate from"}]


def test_the_next_actual_read_trues_up_an_estimate_that_was_too_high(running_services, rpc):
    start(running_services, rpc)
    with_average_daily_use_of_one_hcf(rpc)
    january(rpc, "A1")  # estimated 121.00 at the end of January
    manual(rpc, "M-1", "2026-02-15T00:00:00-08:00", "130.00")
    manual(rpc, "M-1", "2026-02-28T12:00:00-08:00", "142.00")

    [february] = determinants(rpc, "2026-02-01", "2026-02-28", "A1")["determinants"]

    # The register really read 90 + 40 x 31/45 = 117.56 on 1 February: January was over-estimated by 3.44.
    [true_up] = february["true_ups"]
    assert (true_up["estimated_value"], true_up["actual_value"], true_up["difference"]) == (
        "121.00", "117.56", "-3.44")
    assert true_up["estimated_read_at"] == "2026-02-01T00:00:00-08:00"
    assert "interpolated" in true_up["how_known"]
    # February's own use, from the true value; with the true-up it is the advance since the billed estimate.
    assert (february["start_read"], february["end_read"], february["consumption"]) == ("117.56", "142.00", "24.44")
    assert february["quality"] == "actual"
    assert february["estimates"] == []


def test_same_period_last_year_when_recent_history_is_too_short(running_services, rpc):
    start(running_services, rpc)
    meter_on_account(rpc, "M-3", "A3", "2024-12-01")
    manual(rpc, "M-3", "2025-01-01T00:00:00-08:00", "10.00")
    manual(rpc, "M-3", "2025-01-31T12:00:00-08:00", "40.50")  # January 2025: 30.5 HCF in 30.5 days
    manual(rpc, "M-3", "2025-12-28T00:00:00-08:00", "300.00")
    manual(rpc, "M-3", "2025-12-31T00:00:00-08:00", "303.00")  # only 3 days of recent history

    [determinant] = january(rpc, "A3")["determinants"]

    [estimate] = determinant["estimates"]
    assert estimate["method"] == "same_period_last_year"
    assert estimate["basis"]["daily_use"] == "1.0000"
    # 303.00 + 1 HCF/day x 32 days (31 December to 1 February).
    assert (determinant["end_read"], determinant["consumption"]) == ("335.00", "32.00")


def test_prolonged_estimation_requests_a_meter_check_and_holds_the_next_period(running_services, rpc):
    start(running_services, rpc)
    drain_queue("operations.work_orders")  # the queue outlives earlier tests of this run
    with_average_daily_use_of_one_hcf(rpc)
    periods = [("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-28"), ("2026-03-01", "2026-03-31")]
    estimates = [determinants(rpc, first, last, "A1")["determinants"][0]["estimates"][0] for first, last in periods]

    assert [e["consecutive_periods"] for e in estimates] == [1, 2, 3]
    # Each period starts where the last estimate ended: 31 and 28 days at 1 HCF a day, then March, one
    # hour short of 31 days (clocks went forward on 8 March): 30.96 days, 179.96, shown as the whole-HCF
    # register would show it (179: the unit not yet complete is billed with the next period, not lost).
    assert [e["value"] for e in estimates] == ["121.00", "149.00", "179.00"]
    assert [e["prolonged_estimation_exception_id"] is not None for e in estimates] == [False, False, True]
    again = determinants(rpc, "2026-03-01", "2026-03-31", "A1")["determinants"][0]["estimates"][0]
    assert again == estimates[2]  # asked again: the same estimate, naming the same exception
    [item] = rpc.metering.list_read_exceptions({"rule": "prolonged_estimation"})["exceptions"]
    assert (item["status"], item["details"]["consecutive_periods"], item["details"]["limit"]) == (
        "meter_check_requested", 3, 3)
    orders = wait_for(lambda: [o["payload"] for o in drain_queue("operations.work_orders")], message="work order")
    assert [(o["work"], o["meter_serial"], o["exception_id"]) for o in orders] == [
        ("check_meter", "M-1", item["exception_id"])]

    april = determinants(rpc, "2026-04-01", "2026-04-30", "A1")
    assert april["determinants"] == []
    assert [(h["account_id"], h["exception_ids"]) for h in april["held"]] == [("A1", [item["exception_id"]])]

    # There is no reading to edit; once the meter is checked staff accept it, and no reading changes.
    reads_before = rows("select * from register_reads order by read_at")
    with pytest.raises(Conflict):
        rpc.metering.resolve_read_exception({"exception_id": item["exception_id"], "action": "edit",
                                             "new_value": "150", "resolved_by": "jdoe", "reason": "checked"})
    accepted = rpc.metering.resolve_read_exception({"exception_id": item["exception_id"], "action": "accept",
                                                    "resolved_by": "jdoe", "reason": "meter checked, working"})
    assert accepted["status"] == "accepted"
    assert rows("select * from register_reads order by read_at") == reads_before


def test_an_end_read_older_than_the_stale_limit_is_estimated_forward_and_trued_up_by_the_next_read(
        running_services, rpc):
    """EstimationPolicy.stale_end_read_days (7): a read on 11 January is 21 days before January's end."""
    start(running_services, rpc)
    with_average_daily_use_of_one_hcf(rpc)
    manual(rpc, "M-1", "2026-01-11T00:00:00-08:00", "100.00")
    [as_read] = january(rpc, "A1", estimate=False)["determinants"]  # without estimation: the read as it is
    assert (as_read["end_read"], as_read["quality"]) == ("100.00", "actual")

    [determinant] = january(rpc, "A1")["determinants"]

    # 100.00 + 1 HCF/day (30.00 on 2 November to 100.00 on 11 January) x the 21 days to the end of January.
    assert (determinant["start_read"], determinant["end_read"], determinant["end_read_at"],
            determinant["consumption"], determinant["quality"]) == (
        "90.00", "121.00", "2026-02-01T00:00:00-08:00", "31.00", "estimated")
    [estimate] = determinant["estimates"]
    assert estimate["basis"]["last_actual_read"]["value"] == "100.00" and "stale_end_read" in estimate["basis"]
    manual(rpc, "M-1", "2026-02-27T00:00:00-08:00", "140.00")

    [february] = determinants(rpc, "2026-02-01", "2026-02-28", "A1")["determinants"]

    # The true value at 1 February: 100.00 + 40.00 x 21/47 days = 117.87; the estimate was 3.13 too high.
    [true_up] = february["true_ups"]
    assert (true_up["estimated_value"], true_up["actual_value"], true_up["difference"]) == (
        "121.00", "117.87", "-3.13")
    assert (february["start_read"], february["end_read"], february["consumption"], february["quality"]) == (
        "117.87", "140.00", "22.13", "actual")


def test_an_estimate_past_the_registers_top_wraps_and_its_true_up_is_counted_across_the_rollover(
        running_services, rpc):
    """A 4-digit register (0 - 9,999 HCF) near its top: 1 HCF a day before January, no read in January."""
    start(running_services, rpc)
    rpc.metering.register_meter({"serial": "M-4", "size": "5/8", "register_digits": 4})
    rpc.metering.install_meter({"serial": "M-4", "connection_id": "SC-A4", "installed_on": "2025-10-01",
                                "initial_read": "9900"})
    with engine_for("metering").begin() as db:
        db.execute(sa.text("insert into service_accounts values ('A4', 'SC-A4', 'open', '2025-10-01')"))
    manual(rpc, "M-4", "2025-11-02T00:00:00-08:00", "9930.00")
    manual(rpc, "M-4", "2026-01-01T00:00:00-08:00", "9990.00")

    [january_bill] = january(rpc, "A4")["determinants"]

    # 9,990.00 + 31 days x 1 HCF = 10,021.00: the register shows 21.00; the use is 31, not negative.
    [estimate] = january_bill["estimates"]
    assert estimate["value"] == "21.00"
    assert (january_bill["start_read"], january_bill["end_read"], january_bill["consumption"]) == (
        "9990.00", "10021.00", "31.00")
    manual(rpc, "M-4", "2026-02-27T00:00:00-08:00", "50.00")  # passed the top too: 10,050.00

    [february] = determinants(rpc, "2026-02-01", "2026-02-28", "A4")["determinants"]

    # The true value on 1 February: 9,990.00 + 60.00 x 31/57 days = 10,022.63, shown as 22.63: 1.63 more
    # than estimated (modulo the rollover, not 9,998.37 less).
    [true_up] = february["true_ups"]
    assert (true_up["estimated_value"], true_up["actual_value"], true_up["difference"]) == ("21.00", "22.63", "1.63")
    assert (february["start_read"], february["end_read"], february["consumption"]) == ("22.63", "50.00", "27.37")
