"""Account attributes rates are computed from (residents, landscape area, budget variance, fire
line) with a revision counter, and closing an account (move-out).

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("residents", sa.Integer), ("landscape_area_sqft", sa.Numeric), ("budget_variance", sa.Numeric),
    ("budget_variance_reason", sa.Text), ("fire_line_size", sa.Text), ("attributes_effective_on", sa.Date),
    ("closed_on", sa.Date), ("close_reason", sa.Text),
)


def upgrade():
    for name, kind in COLUMNS:
        op.add_column("accounts", sa.Column(name, kind))
    op.add_column("accounts", sa.Column("attributes_revision", sa.Integer, nullable=False, server_default="0"))


def downgrade():
    op.drop_column("accounts", "attributes_revision")
    for name, _ in reversed(COLUMNS):
        op.drop_column("accounts", name)
