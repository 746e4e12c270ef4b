"""What collections holds of the money is signed as it must be (issue 15, docs/invariants.md): a bill's
receivable is never negative (a credit bill is recorded as the account's credit) and is paid between
nothing and its amount, so is a plan installment, and an account's unapplied credit is never negative.
These rows are not append-only: `paid` and `credit` change as payments are applied.

Revision ID: 0006
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHECKS = {
    "receivables": {"receivables_paid_within_amount": "amount >= 0 and paid >= 0 and paid <= amount"},
    "plan_installments": {"plan_installments_paid_within_amount": "paid >= 0 and paid <= amount"},
    "collection_accounts": {"collection_accounts_credit_not_negative": "credit >= 0"},
}


def upgrade():
    for table, checks in CHECKS.items():
        for name, condition in checks.items():
            op.create_check_constraint(name, table, condition)


def downgrade():
    for table, checks in CHECKS.items():
        for name in checks:
            op.drop_constraint(name, table, type_="check")
