"""Money rows are append-only and signed as the ledger says (issue 15, docs/invariants.md).

Bills, their lines, payments, adjustments and ledger entries are never changed or deleted: a
correction is a new row (an adjustment, a credit, a cancel/rebill). A row trigger refuses UPDATE and
DELETE on them (TRUNCATE, which the tests use to empty a database between tests, is a statement the
trigger does not see). CHECKs hold the signs: a payment is positive and its ledger entry negative, a
credit is at most zero, and a penalty, a debit or a fee is never negative. A bill's total may be
negative (a credit bill, a true-up credit), so bill rows carry no sign check.

Revision ID: 0008
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = ("bills", "bill_lines", "payments", "adjustments", "ledger_entries")
SIGNS = {
    "payments": {"payments_amount_positive": "amount > 0"},
    "ledger_entries": {"ledger_entries_signed_by_kind": "(kind <> 'payment' or amount < 0) and "
                                                        "(kind <> 'credit' or amount <= 0) and "
                                                        "(kind not in ('late_penalty', 'debit', 'fee') or amount >= 0)"},
    "adjustments": {"adjustments_signed_by_kind": "(kind <> 'credit' or amount <= 0) and "
                                                  "(kind not in ('late_penalty', 'debit', 'fee') or amount >= 0)"},
}


def upgrade():
    op.execute("""
        create function refuse_money_row_change() returns trigger language plpgsql as $$
        begin
            raise exception '% rows are append-only: post a correction instead of %', TG_TABLE_NAME, TG_OP
                using errcode = 'restrict_violation';
        end $$""")
    for table in APPEND_ONLY:
        op.execute(f"create trigger {table}_append_only before update or delete on {table} "
                   "for each row execute function refuse_money_row_change()")
    for table, checks in SIGNS.items():
        for name, condition in checks.items():
            op.create_check_constraint(name, table, condition)


def downgrade():
    for table, checks in SIGNS.items():
        for name in checks:
            op.drop_constraint(name, table, type_="check")
    for table in APPEND_ONLY:
        op.execute(f"drop trigger {table}_append_only on {table}")
    op.execute("drop function refuse_money_row_change()")
