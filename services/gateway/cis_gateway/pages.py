"""Server-rendered staff pages (Jinja2, autoescaped). Plain Python: no nameko here.

A page is built from sections, one per backing service; a section whose service failed
renders as "unavailable" so one service being down never hides the others.
"""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from cis_gateway.figures import difference_explained
from cis_runtime.clock import DISTRICT_ZONE
from cis_runtime.errors import NotFound

RECENT_READS_SHOWN = 24

_templates = Environment(
    loader=PackageLoader("cis_gateway", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=ChainableUndefined,  # a field a service left out renders empty, not a 500
    trim_blocks=True,
    lstrip_blocks=True,
)
# Per request, supplied by the web app: who is looking, the CSRF token of the page's forms, the messages
# of what the user just did, and whether the user may do something (to offer only the actions they may).
# Pages rendered outside a request (the rendering tests) show no user and offer no action.
_templates.globals.update(viewer=lambda: None, csrf_token=lambda: "", messages=lambda: [],
                          may=lambda permission: False)


def use_request_globals(**functions) -> None:
    _templates.globals.update(functions)


@dataclass
class Section:
    """What one backing service said: its data, or that it could not say (unavailable / not known)."""
    data: Any = None
    state: str = "ok"  # ok | unavailable | unknown

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @classmethod
    def from_outcome(cls, outcome) -> "Section":
        if outcome.ok:
            return cls(outcome.value)
        # The account may not have reached that service yet (events are asynchronous).
        return cls(state="unknown" if isinstance(outcome.error, NotFound) else "unavailable")


def render_index(business_date: Section) -> str:
    """The home page: the search box and the business date (no page lists every account)."""
    return _templates.get_template("index.html").render(business_date=business_date)


def render_search(query: str, found: dict | None) -> str:
    """`found`: cis_gateway.search's merged page of results; None: no query yet."""
    return _templates.get_template("search.html").render(query=query, found=found)


MATCH_NAMES = {"account_id": "account number", "apn": "APN", "phone": "phone", "name": "customer name",
               "email": "email", "service_address": "service address", "mailing_address": "mailing address",
               "meter_serial": "meter serial", "ami_endpoint": "AMI endpoint of meter"}


def render_account(account_id: str, sections: dict[str, Section]) -> str:
    """`sections`: account, bill_delivery (accounts), reads (metering), statement and business_date (billing),
    collections and collections_date (collections), notices (notifications.deliveries.v2)."""
    reads = sections["reads"]
    if reads.ok:
        reads = Section({**reads.data, "reads": recent_reads(reads.data.get("reads", []))})
    unknown_date = Section(state="unavailable")
    return _templates.get_template("account.html").render(
        account_id=account_id, account=sections["account"],
        bill_delivery=sections.get("bill_delivery", unknown_date), reads=reads,
        statement=sections["statement"], collections=sections["collections"],
        collections_date=sections.get("collections_date", unknown_date),
        difference=balance_difference(sections), notices=sections["notices"],
        business_date=sections["business_date"])


def balance_difference(sections: dict[str, Section]) -> str | None:
    """Why billing's balance and collections' past due differ (None when they agree or one is not known)."""
    statement, collections = sections["statement"], sections["collections"]
    collections_date = sections.get("collections_date")
    if not (statement.ok and collections.ok and collections_date and collections_date.ok):
        return None
    try:
        return difference_explained(statement.data, Decimal(statement.data["balance"]),
                                    Decimal(collections.data["past_due_amount"]),
                                    date.fromisoformat(collections_date.data))
    except (KeyError, TypeError, ValueError, ArithmeticError):  # a field left out: no line, not a 500
        return None


def render_collections_worklist(worklist: Section, business_date: Section) -> str:
    return _templates.get_template("collections_worklist.html").render(worklist=worklist,
                                                                       business_date=business_date)


def render_error(status: int, code: str, message: str, fields: dict | None = None) -> str:
    """`fields`: an invalid input's field -> messages, shown so staff see which field to correct."""
    return _templates.get_template("error.html").render(status=status, code=code, message=message,
                                                       fields=fields or {})


def render_login(csrf_token: str, next_path: str = "/", message: str | None = None) -> str:
    return _templates.get_template("login.html").render(form_token=csrf_token, next=next_path, message=message)


def recent_reads(reads: list[dict]) -> list[dict]:
    """Newest first, the last RECENT_READS_SHOWN (ISO timestamps sort as text)."""
    return sorted(reads, key=lambda read: read.get("read_at") or "", reverse=True)[:RECENT_READS_SHOWN]


def address_lines(address: dict | None) -> str:
    if not address:
        return ""
    street = ", ".join(part for part in (address.get("line1"), address.get("line2")) if part)
    place = " ".join(part for part in (address.get("city") and address["city"] + ",", address.get("state"),
                                       address.get("zip")) if part)
    return f"{street}, {place}" if street else place


def quantity_shown(value) -> str:
    """A quantity or tier bound to at most 6 places (a bound prorated by days is stored exact)."""
    if value is None or value == "":
        return ""
    shown = Decimal(str(value)).quantize(Decimal("0.000001")).normalize()
    return format(shown, "f")


def district_time(instant: str | None) -> str:
    """A wall-clock instant (ISO 8601 with zone) in the District's local time, to the minute."""
    if not instant:
        return ""
    return datetime.fromisoformat(instant).astimezone(DISTRICT_ZONE).strftime("%Y-%m-%d %H:%M %Z")


DELIVERY_KIND_NAMES = {"bill_notice": "Bill", "past_due_notice": "Past-due notice", "shutoff_notice": "Shutoff notice",
                       "occupant_notice": "Notice to the occupant", "tenant_notice": "Notice to the tenants",
                       "forty_eight_hour_notice": "48-hour notice",
                       "plan_default_final_notice": "Final notice (payment plan not kept)"}
CHANNEL_NAMES = {"mail": "mailed", "email": "emailed", "posted": "posted"}
DELIVERY_STATUS_NAMES = {"sent": "sent", "failed": "failed", "no_address": "not sent: no address on file"}
NO_RECIPIENT = {"mail": "no postal address on file", "email": "no email address on file"}


def delivered_to(delivery: dict) -> str:
    """Who a delivery went to: addressee and postal address, the email address, or the premises."""
    recipient = delivery.get("recipient")
    channel = delivery.get("channel")
    if channel == "posted":
        return f"posted at the premises ({recipient})" if recipient else "posted at the premises"
    return recipient or NO_RECIPIENT.get(channel, "not recorded")


def name_of(names: dict[str, str]):
    return lambda code: names.get(code, (code or "").replace("_", " "))


_templates.filters["address"] = address_lines
_templates.filters["match_name"] = name_of(MATCH_NAMES)
_templates.filters["quantity"] = quantity_shown
_templates.filters["district_time"] = district_time
_templates.filters["delivered_to"] = delivered_to
_templates.filters["delivery_kind"] = name_of(DELIVERY_KIND_NAMES)
_templates.filters["channel"] = name_of(CHANNEL_NAMES)
_templates.filters["delivery_status"] = name_of(DELIVERY_STATUS_NAMES)


def render_action_form(action, target: str, heading: str, values: dict, errors: dict, message: str | None,
                       back: str) -> str:
    """A staff action's form (cis_gateway.actions): `errors` is the service's field -> messages."""
    return _templates.get_template("action_form.html").render(action=action, target=target, heading=heading,
                                                              values=values, errors=errors, message=message,
                                                              back=back)


def render_confirmation(action, target: str, heading: str, values: dict) -> str:
    return _templates.get_template("action_confirm.html").render(action=action, target=target, heading=heading,
                                                                 values=values)


def render_read_exceptions(listed: dict, filters: dict) -> str:
    """`listed`: metering.read_exceptions.v1."""
    return _templates.get_template("read_exceptions.html").render(listed=listed, filters=filters)
