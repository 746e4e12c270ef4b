"""Server-rendered staff pages (Jinja2, autoescaped). Plain Python: no nameko here.

A page is built from sections, one per backing service; a section whose service failed
renders as "unavailable" so one service being down never hides the others.
"""
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape

from cis_runtime.errors import NotFound

RECENT_READS_SHOWN = 24

_templates = Environment(
    loader=PackageLoader("cis_gateway", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=ChainableUndefined,  # a field a service left out renders empty, not a 500
    trim_blocks=True,
    lstrip_blocks=True,
)


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


def render_index(accounts: Section, business_date: Section) -> str:
    return _templates.get_template("index.html").render(accounts=accounts, business_date=business_date)


def render_account(account_id: str, sections: dict[str, Section]) -> str:
    reads = sections["reads"]
    if reads.ok:
        reads = Section({**reads.data, "reads": recent_reads(reads.data.get("reads", []))})
    return _templates.get_template("account.html").render(
        account_id=account_id, account=sections["account"], reads=reads,
        statement=sections["statement"], collections=sections["collections"],
        notices=sections["notices"], business_date=sections["business_date"])


def render_collections_worklist(worklist: Section, business_date: Section) -> str:
    return _templates.get_template("collections_worklist.html").render(worklist=worklist,
                                                                       business_date=business_date)


def render_error(status: int, code: str, message: str, fields: dict | None = None) -> str:
    """`fields`: an invalid input's field -> messages, shown so staff see which field to correct."""
    return _templates.get_template("error.html").render(status=status, code=code, message=message,
                                                       fields=fields or {})


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


_templates.filters["address"] = address_lines
_templates.filters["quantity"] = quantity_shown
