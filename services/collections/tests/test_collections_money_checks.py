"""Collections' copy of the money is signed as it must be (migration 0006, docs/invariants.md): the
database refuses an unapplied credit below zero and a receivable or installment paid below nothing or
beyond its amount, whatever code or hand-written SQL asks."""
import pytest
import sqlalchemy as sa

from cis_runtime.edge.dependencies import engine_for


def execute(*statements: str):
    with engine_for("collections").begin() as db:
        for statement in statements:
            db.execute(sa.text(statement))


ACCOUNT = "insert into collection_accounts (account_id, status, credit) values ('A1', 'current', {credit})"
RECEIVABLE = ("insert into receivables (bill_id, account_id, amount, paid, issued_on, due_on) "
              "values ('B1', 'A1', {amount}, {paid}, '2026-04-02', '2026-04-23')")


def test_an_account_credit_below_zero_is_refused(running_services):
    running_services("collections")
    execute(ACCOUNT.format(credit="0.00"))
    with pytest.raises(sa.exc.IntegrityError, match="collection_accounts_credit_not_negative"):
        execute("update collection_accounts set credit = -0.01 where account_id = 'A1'")


@pytest.mark.parametrize("amount, paid", [("64.55", "64.56"), ("64.55", "-0.01"), ("-1.00", "0.00")])
def test_a_receivable_paid_beyond_its_amount_or_below_nothing_is_refused(running_services, amount, paid):
    running_services("collections")
    execute(ACCOUNT.format(credit="0.00"))
    with pytest.raises(sa.exc.IntegrityError, match="receivables_paid_within_amount"):
        execute(RECEIVABLE.format(amount=amount, paid=paid))
    execute(RECEIVABLE.format(amount="64.55", paid="64.55"))  # paid in full is what it may reach
