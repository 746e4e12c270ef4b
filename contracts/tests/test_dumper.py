"""The compiled dumper must give exactly what marshmallow's `schema.dump` gives."""
from datetime import date
from decimal import Decimal

import pytest

from cis_contracts import MESSAGES
from cis_contracts.dumper import dumper

NAMES = sorted(MESSAGES)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_dump_equals_marshmallow_dump_for_every_example(name):
    schema = MESSAGES[name].schema()
    for example in MESSAGES[name].examples():
        loaded = schema.load(example)  # Decimals, dates: what a producer holds
        assert dumper(name)(loaded) == schema.dump(loaded)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_dump_leaves_out_absent_keys_and_keeps_nulls_like_marshmallow(name):
    schema = MESSAGES[name].schema()
    for example in MESSAGES[name].examples():
        loaded = schema.load(example)
        for key in list(loaded):
            partial = {k: v for k, v in loaded.items() if k != key}
            if hasattr(dict, key):
                continue  # marshmallow reads an absent "items" as dict.items: no behaviour to match
            assert dumper(name)(partial) == schema.dump(partial)
            nulled = {**loaded, key: None}
            assert dumper(name)(nulled) == schema.dump(nulled)


def test_money_is_dumped_to_the_cent_and_dates_as_iso_text():
    bill = {"bill_id": "B1", "account_id": "A1", "bill_run_id": "BR1", "period_start": date(2026, 3, 1),
            "period_end": date(2026, 3, 31), "issued_on": date(2026, 4, 1), "due_on": date(2026, 4, 22),
            "total": Decimal("74.6"), "balance_due": Decimal("120"),
            "lines": [{"line_no": 1, "description": "Water", "quantity": Decimal("12"), "unit": "HCF",
                       "rate": Decimal("3.65"), "amount": Decimal("43.8"), "rule": "tiered", "tariff": "res@1"}]}
    dumped = dumper("billing.bill_issued.v1")(bill)
    assert dumped["total"] == "74.60" and dumped["balance_due"] == "120.00"
    assert dumped["period_start"] == "2026-03-01" and dumped["lines"][0]["amount"] == "43.80"
