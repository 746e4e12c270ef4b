from alembic import context

from cis_gateway.adapters.models import metadata
from cis_runtime.migration_env import run_migrations

run_migrations(context, metadata)
