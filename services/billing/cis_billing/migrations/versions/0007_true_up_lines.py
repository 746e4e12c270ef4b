"""A bill line correcting an earlier bill's estimate (a true-up) names the bill it re-rates, so that
bill's usage as corrected so far is known when a later true-up re-rates it again (docs/tariffs.md
"True-ups"). Null on a period's own lines.

Revision ID: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("bill_lines", sa.Column("true_up_of", sa.Text))


def downgrade():
    op.drop_column("bill_lines", "true_up_of")
