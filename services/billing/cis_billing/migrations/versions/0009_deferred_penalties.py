"""A basic late penalty asked before the bill's due date plus grace days ended waits for that day
instead of being refused for good: the request as asked, and the first day it may be assessed. An index for a payment's look at the penalties it
may show were not due.

Revision ID: 0009
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("penalty_requests", sa.Column("deferred_until", sa.Date))
    op.add_column("penalty_requests", sa.Column("request", JSONB))
    op.create_index("penalty_requests_deferred", "penalty_requests", ["deferred_until"],
                    postgresql_where=sa.text("deferred_until is not null"))
    # a payment looks up the penalties it may show were not due (reverse_penalties_paid_on_time)
    op.create_index("penalty_requests_adjustment", "penalty_requests", ["adjustment_id"])


def downgrade():
    op.drop_index("penalty_requests_adjustment", "penalty_requests")
    op.drop_index("penalty_requests_deferred", "penalty_requests")
    op.drop_column("penalty_requests", "request")
    op.drop_column("penalty_requests", "deferred_until")
