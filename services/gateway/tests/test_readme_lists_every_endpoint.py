"""The README's endpoint tables are what outside developers (and the district simulation) drive the suite
from: every route the gateway serves is listed there, and nothing listed is missing from the code."""
import re
from pathlib import Path

from cis_gateway.web import permission_rule

README = Path(__file__).resolve().parents[1] / "README.md"
# "| GET | `/api/accounts/<account_id>` |" (a query string after the path is not part of the route)
LISTED = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`?]+)[^`]*` \|", re.MULTILINE)


def served_routes(app) -> set[tuple[str, str]]:
    return {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", permission_rule(rule.rule))) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_gateway_endpoint_is_in_the_readme_and_every_listed_one_is_served(web_app):
    listed = set(LISTED.findall(README.read_text()))
    served = served_routes(web_app)

    assert served - listed == set(), "served but not in README.md"
    assert listed - served == set(), "in README.md but not served"
