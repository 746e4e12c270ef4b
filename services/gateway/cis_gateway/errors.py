"""The one table mapping exceptions to HTTP: status and a stable error code clients can branch on.

Every error body is {"error": code, "message": text, ...}; invalid input adds "fields".
"""
import logging

from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from cis_runtime.edge.consumers import is_infrastructure_error
from cis_runtime.edge.dependencies import RpcTimeout
from cis_runtime.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)


class MalformedJson(Exception):
    """The request body is not JSON."""


class ServiceDependencyDown(Exception):
    """The service answered that its database (or broker) is unreachable: try again, nothing was done."""


# What a service's RemoteError names when its PostgreSQL connection failed (too many clients, restart):
# an outage, not a bug, and the service's unit of work rolled back.
OUTAGE_ERROR_TYPES = frozenset({"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"})


# Most specific first: the first matching row wins.
ERROR_TABLE: list[tuple[type[BaseException], int, str]] = [
    (MalformedJson, 400, "malformed_json"),
    (InvalidInput, 400, "invalid_input"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (UnknownService, 503, "service_unavailable"),
    # The service runs an older version without that RPC (the gateway was upgraded first).
    (MethodNotFound, 501, "not_implemented"),
    (RpcTimeout, 504, "service_timeout"),
    (ServiceDependencyDown, 503, "service_unavailable"),
]
INTERNAL_ERROR = (500, "internal_error")

# Errors that are the caller's or a neighbour's, not a bug in the gateway: logged without traceback.
EXPECTED_ERRORS = tuple(row[0] for row in ERROR_TABLE)


def status_and_code(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, RemoteError) and exc.exc_type in OUTAGE_ERROR_TYPES or is_infrastructure_error(exc):
        exc = ServiceDependencyDown()  # a service's database, or the gateway's own (users, tokens, audit)
    for exc_type, status, code in ERROR_TABLE:
        if isinstance(exc, exc_type):
            return status, code
    return INTERNAL_ERROR


def error_body(exc: BaseException, correlation_id: str | None = None) -> tuple[int, dict]:
    """The HTTP status and JSON body answering `exc`."""
    status, code = status_and_code(exc)
    if (isinstance(exc, RemoteError) or is_infrastructure_error(exc)) and code == "service_unavailable":
        log.warning("a service could not reach its database (correlation id %s): %s", correlation_id, getattr(exc, "exc_type", type(exc).__name__))
        return status, {"error": code, "correlation_id": correlation_id,
                        "message": "A service could not reach its database; nothing was done, try again."}
    if (status, code) == INTERNAL_ERROR:
        # The traceback goes to the log, never to the client.
        log.error("internal error (correlation id %s): %r", correlation_id, exc)
        return status, {"error": code, "correlation_id": correlation_id,
                        "message": "The request could not be completed; quote the correlation id to support."}
    body = {"error": code, "message": message_of(exc)}
    if isinstance(exc, InvalidInput):
        body["fields"] = exc.args[0] if exc.args else {}
    return status, body


def message_of(exc: BaseException) -> str:
    if isinstance(exc, NotFound) and len(exc.args) == 2:
        what, key = exc.args
        return f"{what} {key} not found"
    if isinstance(exc, InvalidInput):
        return "The request has invalid fields."
    if isinstance(exc, MethodNotFound):
        return f"The service does not offer {exc.args[0] if exc.args else 'that call'} yet (an older version runs)."
    if isinstance(exc, UnknownService):
        return f"The {exc.args[0] if exc.args else ''} service is not running.".replace("  ", " ")
    return " ".join(str(arg) for arg in exc.args) or type(exc).__name__
