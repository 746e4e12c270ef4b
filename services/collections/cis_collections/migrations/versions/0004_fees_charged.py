"""Reconnection fees charged through billing (collections.fee_assessed.v1): what a completed reconnect
charged, its request id, and the adjustment billing posted for it.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WORK_ORDER_COLUMNS = [("fee_request_id", sa.Text), ("fee_charged", sa.Numeric(12, 2)),
                      ("fee_after_hours_charged", sa.Boolean), ("fee_adjustment_id", sa.Text)]


def upgrade():
    for name, type_ in WORK_ORDER_COLUMNS:
        op.add_column("work_orders", sa.Column(name, type_))
    op.create_unique_constraint("work_orders_fee_request_id_key", "work_orders", ["fee_request_id"])


def downgrade():
    op.drop_constraint("work_orders_fee_request_id_key", "work_orders")
    for name, _ in reversed(WORK_ORDER_COLUMNS):
        op.drop_column("work_orders", name)
