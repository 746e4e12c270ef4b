"""Bills, bill lines, payments, adjustments and ledger entries are append-only and signed as the ledger
says (migration 0008, docs/invariants.md): the database itself refuses an edit or a delete of a posted
money row and a row signed against its kind, whatever code or hand-written SQL asks."""
import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for

from test_billing_service import PERIOD, metering, open_accounts, run_to_completion, start_billing  # noqa: F401
from test_tariff_service import only_the_adopted_demo_tariff  # noqa: F401 (autouse: tariffs loaded here go)

MONEY_TABLES = ("bills", "bill_lines", "payments", "adjustments", "ledger_entries")


def execute(sql: str, **params):
    with engine_for("billing").begin() as db:
        db.execute(sa.text(sql), params)


@pytest.fixture
def a_billed_and_paid_account(running_services, rpc, publish, metering):
    start_billing(running_services)
    rpc.billing.set_business_date("2026-04-02")
    open_accounts(publish, "A0000001")
    metering({"A0000001": "12"})
    run_to_completion(rpc, rpc.billing.start_bill_run({"cycle": "1", **PERIOD}))
    rpc.billing.post_payment({"account_id": "A0000001", "amount": "64.55", "method": "check", "reference": "CHK-1"})
    rpc.billing.post_adjustment({"account_id": "A0000001", "kind": "credit", "amount": "5.00",
                                 "reason_code": "courtesy", "note": "Courtesy credit", "posted_by": "jlopez"})


@pytest.mark.parametrize("table", MONEY_TABLES)
def test_a_posted_money_row_cannot_be_changed_or_deleted(a_billed_and_paid_account, table):
    column = {"bills": "account_id", "bill_lines": "description", "payments": "reference",
              "adjustments": "note", "ledger_entries": "reference"}[table]
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        execute(f"update {table} set {column} = {column}")
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        execute(f"delete from {table}")


@pytest.mark.parametrize("table, values", [
    ("payments", "(payment_id, account_id, amount, method, reference, received_on) "
                 "values ('P-NEG', 'A0000001', -1.00, 'check', 'CHK-2', '2026-04-02')"),
    *[("ledger_entries", f"(account_id, kind, amount, posted_on, reference) "
                         f"values ('A0000001', '{kind}', {amount}, '2026-04-02', 'X-1')")
      for kind, amount in (("payment", "1.00"), ("credit", "1.00"), ("late_penalty", "-1.00"), ("fee", "-1.00"))],
])
def test_a_money_row_signed_against_its_kind_is_refused(a_billed_and_paid_account, table, values):
    with pytest.raises(sa.exc.IntegrityError, match="violates check constraint"):
        execute(f"insert into {table} {values}")
