"""Deliveries by channel: a collections notice is mailed (printed letter), posted (door hanger printed for
field staff) and, when the customer has an address, emailed - one delivery row per channel.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("deliveries", sa.Column("channel", sa.Text, nullable=False, server_default="email"))
    op.add_column("deliveries", sa.Column("document", sa.Text))
    op.drop_constraint("deliveries_one_per_source", "deliveries", type_="unique")
    op.create_unique_constraint("deliveries_one_per_source", "deliveries", ["source_message_id", "kind", "channel"])


def downgrade():
    op.drop_constraint("deliveries_one_per_source", "deliveries", type_="unique")
    op.create_unique_constraint("deliveries_one_per_source", "deliveries", ["source_message_id", "kind"])
    op.drop_column("deliveries", "document")
    op.drop_column("deliveries", "channel")
