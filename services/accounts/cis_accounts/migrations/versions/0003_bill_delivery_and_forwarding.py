"""The customer's bill delivery choice on the account (paper unless paperless; a revision counter for
accounts.bill_delivery_changed.v1) and the forwarding address given at move-out (issue 9).

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("paperless", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("accounts", sa.Column("bill_delivery_changed_on", sa.Date))
    op.add_column("accounts", sa.Column("bill_delivery_changed_by", sa.Text))
    op.add_column("accounts", sa.Column("bill_delivery_revision", sa.Integer, nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("forwarding_address", JSONB))


def downgrade():
    for name in ("forwarding_address", "bill_delivery_revision", "bill_delivery_changed_by",
                 "bill_delivery_changed_on", "paperless"):
        op.drop_column("accounts", name)
