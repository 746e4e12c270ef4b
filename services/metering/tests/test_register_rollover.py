"""Consumption across a register's rollover (pure domain code): a register that passed its top between
two billing reads ran forward; a fall from mid-range is a reset or misread, never billed."""
from datetime import datetime, timezone
from decimal import Decimal

from cis_metering.domain.determinants import (MeterOnAccount, RegisterPeriod, determinant_or_missing,
                                              end_netting_reverse_flow)
from cis_metering.domain.model import Read, difference_modulo

START = datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
END = datetime(2026, 1, 31, 8, tzinfo=timezone.utc)


def meter(start_value, end_value, digits=6):
    return MeterOnAccount("A1", True, "M-1", "5/8", START, Decimal(1), (RegisterPeriod(
        "main", Read(Decimal(start_value), "HCF", START), Read(Decimal(end_value), "HCF", END)),), digits)


def test_billing_reads_either_side_of_the_registers_top_count_the_use_across_the_rollover():
    determinant, missing = determinant_or_missing(meter("999990.00", "30.00"), END)
    assert missing is None
    assert (determinant["start_read"], determinant["end_read"], determinant["consumption"]) == (
        Decimal("999990.00"), Decimal("1000030.00"), Decimal("40.00"))


def test_a_fall_from_mid_range_between_billing_reads_is_still_reported_not_billed():
    determinant, missing = determinant_or_missing(meter("5000.00", "30.00"), END)
    assert determinant is None and missing["reason"].startswith("negative consumption")


def test_a_confirmed_small_fall_bills_the_period_to_its_start_reading_so_the_next_period_nets_it():
    start, fallen = Read(Decimal("812.00"), "HCF", START), Read(Decimal("810.00"), "HCF", END)
    assert end_netting_reverse_flow(start, fallen, 6) == Read(Decimal("812.00"), "HCF", END)
    rising = Read(Decimal("815.00"), "HCF", END)
    assert end_netting_reverse_flow(start, rising, 6) is rising


def test_a_fall_larger_than_a_reverse_flow_or_a_rollover_is_not_netted():
    start = Read(Decimal("5000.00"), "HCF", START)
    reset = Read(Decimal("30.00"), "HCF", END)
    assert end_netting_reverse_flow(start, reset, 6) is reset  # reported missing: a reset or misread
    top = Read(Decimal("999990.00"), "HCF", START)
    rolled = Read(Decimal("30.00"), "HCF", END)
    assert end_netting_reverse_flow(top, rolled, 6) is rolled  # counted past the top instead


def test_a_true_up_difference_is_the_smallest_one_modulo_the_register_range():
    assert difference_modulo(Decimal("22.63"), Decimal("21.00"), 4) == Decimal("1.63")
    assert difference_modulo(Decimal("9998.00"), Decimal("21.00"), 4) == Decimal("-23.00")  # estimate too high
    assert difference_modulo(Decimal("21.00"), Decimal("9998.00"), 4) == Decimal("23.00")
