from alembic import context

from cis_billing.adapters.models import Base
from cis_runtime.migration_env import run_migrations

run_migrations(context, Base.metadata)
