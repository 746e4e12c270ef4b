"""The migrations build exactly the models' schema and adopt the demo residential tariff."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from cis_billing.adapters.models import Base
from cis_billing.domain.tariff_document import parse_tariff
from cis_runtime import config, db


def test_migrated_schema_matches_the_models_and_seeds_the_adopted_tariff():
    # A database of its own, migrated from nothing (the shared test database is emptied between tests).
    url = make_url(config.database_url("billing")).set(
        database=config.database_name("billing") + "_migrations").render_as_string(hide_password=False)
    db.drop_database(url)
    db.prepare_database("billing", url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            [(tariff, effective_from, document, adopted_by)] = connection.execute(sa.text(
                "select tariff_id || '@' || version, effective_from, document, adopted_by from tariffs")).all()
        assert tariff == "residential@1"
        assert adopted_by == "Board Resolution 2026-04 (demo)"
        # migration 0002 rewrote the adopted rates in the tariff document format, unchanged
        assert parse_tariff(document).label == "residential@1"
        fixed, usage = document["charges"]
        assert fixed["rates"]["5/8"] == "20.75" and fixed["rates"]["8"] == "1660.00" and fixed["per"] == "month"
        assert usage == {"rule": "volumetric", "description": "Water usage", "unit": "HCF", "rate": "3.65"}
    finally:
        engine.dispose()
        db.drop_database(url)
