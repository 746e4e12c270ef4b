"""Settings from environment variables, with defaults for a developer machine.

CIS_PG_URL       server URL without database  (postgresql://postgres@127.0.0.1:5432)
CIS_DB_PREFIX    prefix of every service database (cis_ -> cis_billing)
<SERVICE>_DATABASE_URL  overrides one service's full URL
CIS_AMQP_URI     broker URL including vhost    (amqp://guest:guest@127.0.0.1:5672/)
CIS_SMTP_HOST / CIS_SMTP_PORT  the mail relay notifications sends through
CIS_GATEWAY_BIND / CIS_GATEWAY_PORT  where the gateway listens (127.0.0.1:8000)
"""
import os

# The nameko services (each a process of cis_runtime.edge.launch). The gateway is a Flask app served by
# gunicorn (cis_gateway.gunicorn_config); its database holds staff users, API tokens and the audit log.
SERVICES = ("accounts", "metering", "billing", "collections", "notifications")
GATEWAY = "gateway"
SERVICES_WITH_DATABASE = SERVICES + (GATEWAY,)


def env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def pg_server_url() -> str:
    return env("CIS_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def database_name(service: str) -> str:
    return env("CIS_DB_PREFIX", "cis_") + service


def database_url(service: str) -> str:
    default = f"{pg_server_url()}/{database_name(service)}".replace(
        "postgresql://", "postgresql+psycopg2://", 1)
    return env(f"{service.upper()}_DATABASE_URL", default)


def amqp_uri() -> str:
    return env("CIS_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def smtp_address() -> tuple[str, int]:
    return env("CIS_SMTP_HOST", "127.0.0.1"), int(env("CIS_SMTP_PORT", "8025"))


def max_delivery_attempts() -> int:
    """How many times a consumer tries a message before it goes to the dead-letter queue."""
    return int(env("CIS_MAX_DELIVERY_ATTEMPTS", "5"))


def retry_base_delay_ms() -> int:
    return int(env("CIS_RETRY_BASE_DELAY_MS", "500"))


def rpc_timeout_seconds() -> float:
    return float(env("CIS_RPC_TIMEOUT", "30"))


def gateway_port() -> int:
    return int(env("CIS_GATEWAY_PORT", "8000"))


def gateway_bind() -> str:
    return f"{env('CIS_GATEWAY_BIND', '127.0.0.1')}:{gateway_port()}"


def nameko_config(service: str) -> dict:
    """The nameko container config of one service process."""
    max_workers = int(env("CIS_MAX_WORKERS", "10"))
    return {
        "AMQP_URI": amqp_uri(),
        "max_workers": max_workers,
        # nameko issue #428: prefetch above the worker pool starves heartbeats.
        "PREFETCH_COUNT": max_workers,
        "HEARTBEAT": 20,
        "SERIALIZER": "json",
    }
