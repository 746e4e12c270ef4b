"""Staff action pages (issue 11): a form, a confirmation, then the result on the page it belongs to.

Each action is one RPC of a service, which validates the request against its contract; its field errors
are shown next to the fields they name, with what the user typed kept. Nothing is sent before the user
confirms. The "posted by" field is the signed-in user, never a form field (as for the JSON API).
"""
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, request

from cis_contracts.billing import ADJUSTMENT_REASON_CODES, PAYMENT_METHODS, STAFF_ADJUSTMENT_KINDS
from cis_contracts.metering import MANUAL_READ_SOURCES, RESOLUTIONS
from cis_gateway import pages
from cis_gateway.web import actor_name, html, may, rpc  # registered by web.create_app, after it loaded
from cis_runtime.clock import DISTRICT_ZONE
from cis_runtime.errors import Conflict, InvalidInput, NotFound

REVIEW, CHANGE, CONFIRM = "review", "change", "confirm"
MAX_FIELD_LENGTH = 1000  # the contracts bound each field; this only keeps a pasted novel out of the form


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | money | date | datetime (District wall clock) | select | textarea
    options: tuple = ()
    required: bool = True
    hint: str = ""


@dataclass(frozen=True)
class Action:
    title: str
    service: str
    rpc: str
    fields: tuple[Field, ...]
    submit: str
    actor_field: str | None = None
    idempotent: bool = False  # carries a request_id made with the form, so a second submit posts nothing

    def body(self, values: dict, actor: str, **path_values) -> dict:
        body = {name: value for name, value in values.items() if value not in ("", None)}
        for f in self.fields:
            if f.kind == "datetime" and f.name in body:
                body[f.name] = district_instant(body[f.name])
        body.update(path_values)
        if self.actor_field:
            body[self.actor_field] = actor
        return body


PAYMENT = Action(
    title="Post a payment", service="billing", rpc="post_payment", submit="Post payment", fields=(
        Field("amount", "Amount ($)", "money", hint="Dollars and cents, e.g. 64.55"),
        Field("method", "Method", "select", PAYMENT_METHODS),
        Field("reference", "Reference", hint="Check number, receipt or confirmation number"),
        Field("received_on", "Received on", "date", required=False, hint="Empty: today's business date"),
    ))
ADJUSTMENT = Action(
    title="Post an adjustment", service="billing", rpc="post_adjustment", submit="Post adjustment",
    actor_field="posted_by", idempotent=True, fields=(
        Field("kind", "Credit or debit", "select", STAFF_ADJUSTMENT_KINDS),
        Field("amount", "Amount ($)", "money", hint="Positive; the kind says which way"),
        Field("reason_code", "Reason", "select", ADJUSTMENT_REASON_CODES),
        Field("note", "Note", "textarea", hint="What happened and who asked; kept with the adjustment"),
        Field("bill_id", "Bill", required=False, hint="The bill it corrects, if one (e.g. B0000002)"),
    ))
RESOLUTION = Action(
    title="Resolve a read exception", service="metering", rpc="resolve_read_exception", submit="Resolve",
    actor_field="resolved_by", fields=(
        Field("action", "Resolution", "select", RESOLUTIONS,
              hint="accept as read, edit the value, estimate it, or order a re-read or meter check"),
        Field("reason", "Reason", "textarea"),
        Field("new_value", "New reading", required=False, hint="Only for an edit"),
    ))

MANUAL_READ = Action(
    title="Enter a manual read", service="metering", rpc="enter_manual_read", submit="Enter read",
    actor_field="reader", fields=(
        Field("read_at", "Read at (District time)", "datetime"),
        Field("value", "Register reading", hint="As the register shows it, in the meter's unit"),
        Field("source", "Read by", "select", MANUAL_READ_SOURCES),
        Field("reason", "Reason", "textarea", hint="Why a manual read (e.g. AMI endpoint silent, customer's photo)"),
    ))
EXCHANGE = Action(
    title="Exchange a meter", service="metering", rpc="exchange_meter", submit="Exchange meter",
    actor_field="exchanged_by", fields=(
        Field("exchanged_on", "Exchanged on", "date"),
        Field("old_final_read", "Old meter's final read"),
        Field("new_serial", "New meter serial", required=False, hint="Empty: the meter is removed only"),
        Field("new_initial_read", "New meter's initial read", required=False),
        Field("reason", "Reason", "textarea"),
    ))


def district_instant(typed: str) -> str:
    """A wall-clock time typed in a form (datetime-local, no zone) as an instant in District time; what does
    not parse is passed on as typed, so the service's contract names the field."""
    try:
        return datetime.fromisoformat(typed).replace(tzinfo=DISTRICT_ZONE).isoformat()
    except ValueError:
        return typed


action_pages = Blueprint("actions", __name__)


@action_pages.get("/accounts/<account_id>/payments/new")
def payment_form(account_id):
    return form_page(PAYMENT, f"/accounts/{account_id}/payments", account_heading(account_id), {})


@action_pages.post("/accounts/<account_id>/payments")
def post_payment(account_id):
    return submitted(PAYMENT, f"/accounts/{account_id}/payments", account_heading(account_id),
                     lambda values: PAYMENT.body(values, actor_name(), account_id=account_id),
                     lambda p: (f"Payment {p['payment_id']} of ${p['amount']} posted; balance after: "
                                f"${p['balance_after']}.", f"/accounts/{account_id}#payments"))


@action_pages.get("/accounts/<account_id>/adjustments/new")
def adjustment_form(account_id):
    return form_page(ADJUSTMENT, f"/accounts/{account_id}/adjustments", account_heading(account_id),
                     {"request_id": uuid.uuid4().hex})


@action_pages.post("/accounts/<account_id>/adjustments")
def post_adjustment(account_id):
    return submitted(ADJUSTMENT, f"/accounts/{account_id}/adjustments", account_heading(account_id),
                     lambda values: ADJUSTMENT.body(values, actor_name(), account_id=account_id),
                     lambda a: (f"{a['kind'].capitalize()} {a['adjustment_id']} of ${Decimal(a['amount']).copy_abs()} "
                                f"posted; balance due: ${a['balance_due']}.", f"/accounts/{account_id}#adjustments"))


@action_pages.get("/read-exceptions")
def read_exceptions_page():
    filters = {key: value for key, value in request.args.items() if key in ("rule", "after_id") and value}
    listed = rpc().call("metering", "list_read_exceptions", {**filters, "limit": 50})
    return html(pages.render_read_exceptions(listed, filters))


@action_pages.get("/read-exceptions/<int:exception_id>/resolution/new")
def resolution_form(exception_id):
    return form_page(RESOLUTION, f"/read-exceptions/{exception_id}/resolution",
                     exception_heading(exception_id), {})


@action_pages.post("/read-exceptions/<int:exception_id>/resolution")
def resolve(exception_id):
    return submitted(RESOLUTION, f"/read-exceptions/{exception_id}/resolution", exception_heading(exception_id),
                     lambda values: RESOLUTION.body(values, actor_name(), exception_id=exception_id),
                     lambda r: (f"Read exception {exception_id} resolved: {r.get('action', '')}.",
                                "/read-exceptions"))


@action_pages.get("/meters/<serial>/reads/new")
def manual_read_form(serial):
    return form_page(MANUAL_READ, f"/meters/{serial}/reads", meter_heading(serial), {})


@action_pages.post("/meters/<serial>/reads")
def enter_manual_read(serial):
    return submitted(MANUAL_READ, f"/meters/{serial}/reads", meter_heading(serial),
                     lambda values: MANUAL_READ.body(values, actor_name(), meter_serial=serial),
                     lambda r: (f"Read of {r['value']} entered on meter {serial}"
                                + (": held for review (" + "; ".join(f["reason"] for f in r["findings"]) + ")."
                                   if r["findings"] else "."), meter_page(serial)))


@action_pages.get("/meters/<serial>/exchange/new")
def exchange_form(serial):
    return form_page(EXCHANGE, f"/meters/{serial}/exchange", meter_heading(serial), {})


@action_pages.post("/meters/<serial>/exchange")
def exchange(serial):
    return submitted(EXCHANGE, f"/meters/{serial}/exchange", meter_heading(serial),
                     lambda values: EXCHANGE.body(values, actor_name(), old_serial=serial),
                     lambda x: (f"Meter {serial} " + (f"exchanged for {x['new_serial']}" if x["new_serial"]
                                                      else "removed") + f" on {x['exchanged_on']}.",
                                meter_page(x["new_serial"] or serial)))


def meter_of(serial: str) -> dict:
    found = [m for m in rpc().call("metering", "find_meters", {"query": serial})["meters"] if m["serial"] == serial]
    if not found:
        raise NotFound("meter", serial)
    return found[0]


def meter_heading(serial: str) -> str:
    meter = meter_of(serial)
    if meter.get("account_id"):
        return f"Meter {serial} · account {meter['account_id']}"
    if meter.get("connection_id"):
        return f"Meter {serial} · connection {meter['connection_id']}, no account"
    return f"Meter {serial} · not installed"


def meter_page(serial: str) -> str:
    """Where a meter's action ends: its account's reads (the meter's record when it serves no account)."""
    account_id = meter_of(serial).get("account_id")
    return f"/accounts/{account_id}#reads" if account_id else f"/search?q={quote(serial)}"


def page_before(target: str) -> str:
    """Where a form's Cancel goes: the account, the meter's account or the worklist it was begun from."""
    parts = target.strip("/").split("/")
    if parts[0] == "accounts":
        return f"/accounts/{parts[1]}"
    if parts[0] == "meters":
        return meter_page(parts[1])
    return "/" + parts[0]


def account_heading(account_id: str) -> str:
    account = rpc().call("accounts", "get_account", account_id)  # NotFound: the 404 page
    if not may("view_personal_data"):
        return f"Account {account_id}"
    return f"Account {account_id} · {account['customer']['name']}"


def exception_heading(exception_id: int) -> str:
    listed = rpc().call("metering", "list_read_exceptions", {"after_id": exception_id - 1, "limit": 1,
                                                             "status": "unresolved"})
    found = [e for e in listed["exceptions"] if e["exception_id"] == exception_id]
    if not found:
        raise NotFound("unresolved read exception", exception_id)
    e = found[0]
    return f"Read exception {exception_id} · meter {e['meter_serial']} · {e['rule']}: {e['reason']}"


def submitted(action: Action, target: str, heading: str, make_body, done):
    values = form_values(action)
    step = request.form.get("step", REVIEW)
    missing = {f.name: ["Required."] for f in action.fields if f.required and not values.get(f.name)}
    if step == CHANGE or (step == REVIEW and missing):
        return form_page(action, target, heading, values, missing if step == REVIEW else {},
                         status=400 if missing and step == REVIEW else 200)
    if step == REVIEW:
        return html(pages.render_confirmation(action, target, heading, values))
    try:
        result = rpc().call(action.service, action.rpc, make_body(values))
    except InvalidInput as invalid:
        return form_page(action, target, heading, values, invalid.args[0] if invalid.args else {}, status=400)
    except Conflict as conflict:
        return form_page(action, target, heading, values, {}, status=409, message=str(conflict))
    message, next_page = done(result)
    flash(message)
    return redirect(next_page, 303)


def form_values(action: Action) -> dict:
    values = {f.name: (request.form.get(f.name) or "").strip()[:MAX_FIELD_LENGTH] for f in action.fields}
    if action.idempotent:
        values["request_id"] = (request.form.get("request_id") or uuid.uuid4().hex)[:100]
    return values


def form_page(action: Action, target: str, heading: str, values: dict, errors: dict | None = None,
              status: int = 200, message: str | None = None) -> Response:
    return Response(pages.render_action_form(action, target, heading, values, errors or {}, message,
                                             page_before(target)),
                    status=status, mimetype="text/html")
