"""Trigram indexes for staff search (issue 11): account id, APN (digits), customer name, email and phone
(digits), service address and mailing address line 1. pg_trgm's GIN indexes answer both `like 'ab%'` (a prefix
pads to indexable trigrams) and `like '%abc%'`, so one kind of index serves every field. Expression indexes:
the queries in service_layer/search.py use exactly these expressions, and adapters/models.py declares them.

Revision ID: 0004
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# index name -> (table, indexed expression); the search SQL repeats each expression verbatim.
SEARCH_INDEXES = {
    "accounts_search_account_id": ("accounts", "account_id"),
    "connections_search_apn_digits": ("connections", "replace(apn, '-', '')"),
    "customers_search_name": ("customers", "lower(name)"),
    "customers_search_email": ("customers", "lower(email)"),
    "customers_search_phone_digits": ("customers", "regexp_replace(phone, '[^0-9]', '', 'g')"),
    "customers_search_mailing_line1": ("customers", "lower(mailing_address ->> 'line1')"),
    "parcels_search_situs_line1": ("parcels", "lower(situs_address ->> 'line1')"),
}


def upgrade():
    op.execute("create extension if not exists pg_trgm")
    for name, (table, expression) in SEARCH_INDEXES.items():
        op.execute(f"create index {name} on {table} using gin (({expression}) gin_trgm_ops)")
    op.create_index("accounts_by_connection", "accounts", ["connection_id"])


def downgrade():
    op.drop_index("accounts_by_connection", "accounts")
    for name in SEARCH_INDEXES:
        op.execute(f"drop index {name}")
