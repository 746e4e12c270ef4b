"""The permission table (permissions.toml) as Python: which role may do what, what each route needs."""
import tomllib
from importlib import resources

PUBLIC = "public"
AUTHENTICATED = "authenticated"

_table = tomllib.loads(resources.files("cis_gateway").joinpath("permissions.toml").read_text())
ROLES: dict[str, frozenset[str]] = {role: frozenset(perms) for role, perms in _table["roles"].items()}
ROUTES: dict[str, str] = dict(_table["routes"])


def route_key(method: str, rule: str) -> str:
    return f"{method} {rule}"


def required(method: str, rule: str) -> str | None:
    """The permission a route needs; None for a route not in the table (refused to everyone)."""
    return ROUTES.get(route_key(method, rule))


def allows(role: str | None, permission: str | None) -> bool:
    if permission == PUBLIC:
        return True
    if role is None or permission is None:
        return False
    return permission == AUTHENTICATED or permission in ROLES.get(role, frozenset())
