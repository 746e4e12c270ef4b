"""A late-penalty request billing refused on its own ledger (the bill was paid by its due date plus
the tariff's grace days, or nothing was past due) is remembered with the reason.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("penalty_requests", sa.Column("refusal_reason", sa.Text))


def downgrade():
    op.drop_column("penalty_requests", "refusal_reason")
