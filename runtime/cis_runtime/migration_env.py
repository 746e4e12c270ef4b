"""The body of every service's Alembic env.py (online mode only: migrations run against a server)."""
import sqlalchemy as sa


def run_migrations(context, target_metadata) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
