"""A completed run's exceptions are tried again on a later business day (an account metering held is
billed once its read is resolved): the day of the last retry, which is also the issue date of the
bills it issues.

Revision ID: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("bill_runs", sa.Column("retried_on", sa.Date))


def downgrade():
    op.drop_column("bill_runs", "retried_on")
