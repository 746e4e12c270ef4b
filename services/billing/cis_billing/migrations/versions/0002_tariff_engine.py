"""Tariff engine: the demo tariff in the tariff document format, account attributes the engine
needs, a tariff's end date and load time, and the explanation columns of a bill line.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

METER_SIZES = ["5/8", "3/4", "1", "1.5", "2", "3", "4", "6", "8"]

# residential@1 as adopted (same rates, same effective date), written in the document format
# the engine validates (docs/tariffs.md): identical bills, now with its identity and settings inside.
DEMO_RESIDENTIAL_TARIFF = {
    "tariff_id": "residential",
    "version": 1,
    "effective_from": "2025-07-01",
    "adopted_by": "Board Resolution 2026-04 (demo)",
    "name": "Residential water service (demo)",
    "customer_classes": ["residential"],
    "meter_sizes": METER_SIZES,
    "billing_unit": "HCF",
    "proration_basis": "actual_days",
    "rounding": {"amounts": "half_up"},
    "penalties": {"percent_of_current": "10", "monthly_percent_of_past_due": "1"},
    "charges": [
        {"rule": "fixed_by_meter_size", "description": "Monthly service charge, {meter_size}\" meter",
         "per": "month",
         "rates": {"5/8": "20.75", "3/4": "31.13", "1": "51.88", "1.5": "103.75", "2": "166.00",
                   "3": "332.00", "4": "518.75", "6": "1037.50", "8": "1660.00"}},
        {"rule": "volumetric", "description": "Water usage", "unit": "HCF", "rate": "3.65"},
    ],
}


def upgrade():
    op.add_column("accounts", sa.Column("dwelling_units", sa.Integer, nullable=False, server_default="1"))
    # residents, landscape area, fire line size, winter average, budget variance (docs/tariffs.md)
    op.add_column("accounts", sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")))
    op.add_column("tariffs", sa.Column("effective_to", sa.Date))
    op.add_column("tariffs", sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False,
                                       server_default=sa.func.now()))
    for column in (sa.Column("charge", sa.Text), sa.Column("tier_from", sa.Numeric), sa.Column("tier_to", sa.Numeric),
                   sa.Column("days", sa.Integer), sa.Column("proration", sa.Text)):
        op.add_column("bill_lines", column)
    tariffs = sa.table("tariffs", sa.column("tariff_id", sa.Text), sa.column("version", sa.Integer),
                       sa.column("document", JSONB))
    op.execute(tariffs.update().where(tariffs.c.tariff_id == "residential", tariffs.c.version == 1)
               .values(document=DEMO_RESIDENTIAL_TARIFF))


def downgrade():
    for column in ("charge", "tier_from", "tier_to", "days", "proration"):
        op.drop_column("bill_lines", column)
    op.drop_column("tariffs", "loaded_at")
    op.drop_column("tariffs", "effective_to")
    op.drop_column("accounts", "attributes")
    op.drop_column("accounts", "dwelling_units")
