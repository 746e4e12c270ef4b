"""The Alembic migrations build exactly the database the models describe."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cis_metering.adapters.models import Base


def _not_a_partition(name, type_, parent_names):
    # Monthly partitions of register_reads are made at run time (ensure_register_read_partition),
    # so they are not in the models; everything else must match.
    return not (type_ == "table" and name.startswith("register_reads_p"))


def test_the_migrated_database_matches_the_models(service_db):
    engine = service_db("metering").engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _not_a_partition})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_register_reads_is_range_partitioned_on_read_at(service_db):
    engine = service_db("metering").engine
    with engine.connect() as connection:
        strategy, key = connection.execute(sa.text(
            "select p.partstrat, a.attname from pg_partitioned_table p join pg_class c on c.oid = p.partrelid "
            "join pg_attribute a on a.attrelid = c.oid and a.attnum = p.partattrs[0] "
            "where c.relname = 'register_reads'")).one()
    assert (strategy, key) == ("r", "read_at")
