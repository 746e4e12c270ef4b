"""billing.ledger_positions: per account, the ledger entries and the balance a service deciding on
money (collections) compares with the billing events it has applied (issue 9, case 1), through the
RPC entrypoint on real RabbitMQ and PostgreSQL."""
import time
from collections import Counter
from decimal import Decimal

import pytest

from cis_contracts.envelope import open_envelope
from cis_contracts.registry import validate
from cis_runtime.errors import InvalidInput

from test_billing_service import (PERIOD, metering, open_accounts, outbox, query,  # noqa: F401 (fixture)
                                  run_to_completion, start_billing)
from test_tariff_service import only_the_adopted_demo_tariff  # noqa: F401 (autouse: tariffs loaded here go)

BILLING_EVENTS = ("billing.bill_issued.v1", "billing.payment_posted.v1", "billing.adjustment_posted.v1")


def events_per_account() -> Counter:
    return Counter(open_envelope(envelope)[1]["account_id"] for name in BILLING_EVENTS for envelope in outbox(name))


def test_each_accounts_entries_equal_the_billing_events_announcing_them_and_the_balance_is_the_ledgers(
        running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001", "A0000002")
    metering({"A0000001": "12", "A0000002": "10"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    rpc.billing.post_payment({"account_id": "A0000001", "amount": "64.55", "method": "check", "reference": "CHK-1"})
    rpc.billing.post_adjustment({"account_id": "A0000001", "kind": "debit", "amount": "35.00",
                                 "reason_code": "returned_payment", "note": "Check CHK-1 returned NSF",
                                 "posted_by": "jlopez"})

    answer = rpc.billing.ledger_positions({"account_ids": ["A0000001", "A0000002", "A0009999"]})

    validate("billing.ledger_positions.v1", answer)
    assert answer == {"business_date": "2026-04-02", "positions": [
        {"account_id": "A0000001", "entries": 3, "balance": "35.00"},   # 64.55 - 64.55 + 35.00
        {"account_id": "A0000002", "entries": 1, "balance": "57.25"},   # 20.75 + 10 x 3.65
        {"account_id": "A0009999", "entries": 0, "balance": "0.00"}]}   # unknown to billing
    assert events_per_account() == {p["account_id"]: p["entries"] for p in answer["positions"] if p["entries"]}
    assert [p["balance"] for p in answer["positions"][:2]] == [
        str(sum((amount for (amount,) in query("select amount from ledger_entries where account_id = :a", a=a)),
                Decimal("0.00"))) for a in ("A0000001", "A0000002")]


def test_five_thousand_accounts_are_answered_in_one_call_and_more_are_refused(running_services, rpc):
    start_billing(running_services)
    asked = [f"A{n:07d}" for n in range(5000)]

    started = time.perf_counter()
    answer = rpc.billing.ledger_positions({"account_ids": asked})
    elapsed = time.perf_counter() - started

    assert [p["account_id"] for p in answer["positions"]] == asked
    assert elapsed < 5, f"5,000 positions took {elapsed:.2f}s"
    with pytest.raises(InvalidInput) as refused:
        rpc.billing.ledger_positions({"account_ids": [*asked, "A0005000"]})
    assert "account_ids" in str(refused.value)
