"""Email recorded before it is sent (issue 16): a delivery by email is committed 'pending' with its stable
Message-ID, the body to send and what it carries; the send relay claims it, logs each attempt in the
append-only delivery_attempts, sends after that commit and records the outcome as a new attempt.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("deliveries", sa.Column("message_id", sa.Text))
    op.add_column("deliveries", sa.Column("body", sa.Text))
    op.add_column("deliveries", sa.Column("source", JSONB))
    op.add_column("deliveries", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.create_index("deliveries_to_send", "deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "delivery_attempts",
        sa.Column("attempt_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.Text, sa.ForeignKey("deliveries.delivery_id"), nullable=False, index=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Text),
        sa.Column("error", sa.Text),
    )
    # append-only: the log of what was tried is never rewritten
    op.execute("""
        create function delivery_attempts_append_only() returns trigger language plpgsql as $$
        begin raise exception 'delivery_attempts is append-only'; end $$""")
    op.execute("""create trigger delivery_attempts_append_only before update or delete on delivery_attempts
                  for each row execute function delivery_attempts_append_only()""")


def downgrade():
    op.drop_table("delivery_attempts")
    op.execute("drop function delivery_attempts_append_only()")
    op.drop_index("deliveries_to_send", "deliveries")
    for column in ("next_attempt_at", "source", "body", "message_id"):
        op.drop_column("deliveries", column)
