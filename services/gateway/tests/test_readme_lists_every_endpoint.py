"""The README's endpoint tables are what outside developers (and the district simulation) drive the suite
from: every route the gateway serves is listed there, and nothing listed is missing from the code."""
import re
from pathlib import Path

from cis_gateway.entrypoints import ApiHandler
from cis_gateway.service import Service

README = Path(__file__).resolve().parents[1] / "README.md"
# "| GET | `/api/accounts/<account_id>` |" (a query string after the path is not part of the route)
LISTED = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`?]+)[^`]*` \|", re.MULTILINE)


def served_routes() -> set[tuple[str, str]]:
    routes = set()
    for attribute in vars(Service).values():
        for entrypoint in getattr(attribute, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiHandler):  # pages too (PageHandler is one)
                routes.add((entrypoint.method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", entrypoint.url)))
    return routes


def test_every_gateway_endpoint_is_in_the_readme_and_every_listed_one_is_served():
    listed = set(LISTED.findall(README.read_text()))
    served = served_routes()

    assert served - listed == set(), "served but not in README.md"
    assert listed - served == set(), "in README.md but not served"
