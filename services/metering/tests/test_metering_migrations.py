"""The Alembic migrations build exactly the database the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cis_metering.adapters.models import Base


def test_the_migrated_database_matches_the_models(service_db):
    engine = service_db("metering").engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
