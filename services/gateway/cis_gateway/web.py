"""The gateway as a Flask app: the staff pages and the JSON API, authenticated, authorized and audited.

Every request is authenticated (a staff session cookie, or `Authorization: Bearer <token>` for other
District systems), authorized against permissions.toml, and every state change is written to the
audit log with who, when, from where, the route, the target and the outcome. The services are called
through cis_gateway.rpc_client only. Errors go through cis_gateway.errors (one table, never a 500
page with a traceback).
"""
import json
import logging
import os
import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Flask, Response, g, get_flashed_messages, has_request_context, redirect, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from cis_gateway import pages, permissions
from cis_gateway.adapters.store import Store
from cis_gateway.errors import EXPECTED_ERRORS, MalformedJson, error_body
from cis_gateway.rpc_client import Client
from cis_runtime import config, db
from cis_runtime.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"
_ACCEPTABLE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("CIS_GATEWAY_IDLE_MINUTES", "15")))
ABSOLUTE_TIMEOUT = timedelta(hours=int(os.environ.get("CIS_GATEWAY_ABSOLUTE_HOURS", "8")))
CREATED = 201
SERVICES_WITH_CLOCK = ("accounts", "metering", "billing", "collections", "notifications")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")

# The JSON API: (method, rule, service, rpc, how the body is built, status, field set from the caller).
# BODY: the JSON body; WITH: the body plus the URL's values; ARGS: the URL's values as arguments.
BODY, WITH, ARGS, NONE = "body", "with", "args", "none"
API = [
    ("POST", "/api/customers", "accounts", "create_customer", BODY, CREATED, None),
    ("POST", "/api/parcels", "accounts", "create_parcel", BODY, CREATED, None),
    ("POST", "/api/connections", "accounts", "authorize_connection", BODY, CREATED, None),
    ("POST", "/api/accounts", "accounts", "open_account", BODY, CREATED, None),
    ("GET", "/api/accounts", "accounts", "list_accounts", NONE, 200, None),
    ("GET", "/api/accounts/<account_id>", "accounts", "get_account", ARGS, 200, None),
    ("GET", "/api/accounts/<account_id>/attributes", "accounts", "get_account_attributes", ARGS, 200, None),
    ("PATCH", "/api/accounts/<account_id>/attributes", "accounts", "change_account_attributes", WITH, 200,
     "changed_by"),
    ("POST", "/api/accounts/<account_id>/closing", "accounts", "close_account", WITH, 200, None),
    ("GET", "/api/accounts/<account_id>/bill-delivery", "accounts", "get_bill_delivery", ARGS, 200, None),
    ("PUT", "/api/accounts/<account_id>/bill-delivery", "accounts", "set_bill_delivery", WITH, 200, "changed_by"),
    ("POST", "/api/meters", "metering", "register_meter", BODY, CREATED, None),
    ("POST", "/api/meters/<serial>/installation", "metering", "install_meter", WITH, CREATED, None),
    ("PATCH", "/api/meters/<serial>", "metering", "update_meter", WITH, 200, None),
    ("POST", "/api/meters/<serial>/tests", "metering", "record_meter_test", WITH, CREATED, None),
    ("POST", "/api/meters/<old_serial>/exchange", "metering", "exchange_meter", WITH, CREATED, "exchanged_by"),
    ("POST", "/api/meters/<meter_serial>/reads", "metering", "enter_manual_read", WITH, CREATED, "reader"),
    ("POST", "/api/read-files", "metering", "import_reads_file", BODY, CREATED, None),
    ("POST", "/api/read-exceptions/<int:exception_id>/resolution", "metering", "resolve_read_exception", WITH, 200,
     "resolved_by"),
    ("GET", "/api/accounts/<account_id>/reads", "metering", "account_meter_reads_v3", ARGS, 200, None),
    ("POST", "/api/bill-runs", "billing", "start_bill_run", BODY, CREATED, None),
    ("GET", "/api/bill-runs/<run_id>", "billing", "get_bill_run", ARGS, 200, None),
    ("POST", "/api/payments", "billing", "post_payment", BODY, CREATED, None),
    ("GET", "/api/accounts/<account_id>/statement", "billing", "account_statement_v2", ARGS, 200, None),
    ("POST", "/api/accounts/<account_id>/adjustments", "billing", "post_adjustment", WITH, CREATED, "posted_by"),
    ("POST", "/api/tariffs", "billing", "load_tariff", BODY, CREATED, None),
    ("GET", "/api/tariffs", "billing", "tariff_history", NONE, 200, None),
    ("POST", "/api/tariffs/bill-impact", "billing", "bill_impact", BODY, 200, None),
    ("POST", "/api/bill-previews", "billing", "preview_bill", BODY, 200, None),
    ("GET", "/api/accounts/<account_id>/collections", "collections", "account_status", ARGS, 200, None),
    ("POST", "/api/collections/daily-run", "collections", "run_daily", NONE, 200, None),
    ("GET", "/api/accounts/<account_id>/collections/timeline", "collections", "collections_status", ARGS, 200,
     None),
    ("POST", "/api/accounts/<account_id>/appeals", "collections", "record_appeal", WITH, CREATED, None),
    ("POST", "/api/accounts/<account_id>/extensions", "collections", "grant_extension", WITH, CREATED, None),
    ("POST", "/api/accounts/<account_id>/medical-certifications", "collections", "record_medical_certification",
     WITH, CREATED, None),
    ("POST", "/api/accounts/<account_id>/payment-plans", "collections", "agree_payment_plan", WITH, CREATED, None),
    ("POST", "/api/accounts/<account_id>/contact-attempts", "collections", "record_contact_attempt", WITH, CREATED,
     None),
    ("PUT", "/api/accounts/<account_id>/collections/flags", "collections", "set_account_flags", WITH, 200,
     "changed_by"),
    ("GET", "/api/collections/discontinuations/<int:year>", "collections", "discontinuation_count", ARGS, 200,
     None),
    ("POST", "/api/collections/liens", "collections", "record_liens", BODY, CREATED, None),
    ("POST", "/api/collections/delinquent-lists", "collections", "prepare_delinquent_list", BODY, CREATED, None),
    ("POST", "/api/collections/delinquent-lists/steps", "collections", "delinquent_list_step", BODY, 200, None),
    ("GET", "/api/collections/delinquent-lists/<int:tax_year>", "collections", "delinquent_list", ARGS, 200, None),
    ("GET", "/api/accounts/<account_id>/notices", "notifications", "list_deliveries_v2", ARGS, 200, None),
]


def permission_rule(rule: str) -> str:
    """The rule as permissions.toml names it (the README's spelling of the path variables)."""
    return rule.replace("<old_serial>", "<serial>").replace("<meter_serial>", "<serial>")


def correlation_id_of() -> str:
    offered = request.headers.get(CORRELATION_HEADER, "")
    return offered if _ACCEPTABLE_CORRELATION_ID.match(offered) else uuid.uuid4().hex


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def read_json():
    """The body as JSON; an empty body reads as {} so the contract can name missing fields."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise MalformedJson("The request body must be sent as application/json.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"The request body is not valid JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise MalformedJson("The request body is nested too deeply.") from None


def actor_name() -> str:
    return g.actor["user_id"] if g.actor_kind == "user" else f"system:{g.actor['system']}"


def rpc() -> Client:
    return Client(g.correlation_id, actor_name() if g.get("actor") else None)


def create_app(store: Store | None = None, secret_key: str | None = None, secure_cookies: bool | None = None,
               public_origin: str | None = None) -> Flask:
    app = Flask(__name__)
    secure = secure_cookies if secure_cookies is not None else os.environ.get("CIS_GATEWAY_TLS") == "1"
    app.config.update(
        SECRET_KEY=secret_key or os.environ.get("CIS_GATEWAY_SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="__Host-cis" if secure else "cis_session",
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_TIMEOUT,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in before_request, after the Bearer/cookie decision
        WTF_CSRF_TIME_LIMIT=int(ABSOLUTE_TIMEOUT.total_seconds()),
        WTF_CSRF_SSL_STRICT=secure,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.extensions["cis_store"] = store or Store(db.make_engine(config.database_url("gateway"), pool_size=5))
    app.extensions["cis_public_origin"] = public_origin or os.environ.get("CIS_GATEWAY_PUBLIC_ORIGIN")
    csrf = CSRFProtect(app)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])

    def store_() -> Store:
        return app.extensions["cis_store"]

    # --- every request: identity, permission, CSRF, origin ---------------------------------

    @app.before_request
    def authenticate_and_authorize():
        g.correlation_id = correlation_id_of()
        g.actor, g.actor_kind, g.audit_detail = None, "anonymous", None
        rule = request.url_rule.rule if request.url_rule else None
        g.route = permission_rule(rule) if rule else request.path
        if rule is None:
            return None  # 404/405 answered by the error handlers
        needed = permissions.required(request.method, g.route)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = store_().token(authorization[len("Bearer "):].strip())
            if token is None:
                return refuse(401, "unauthenticated", "The API token is not valid or has been revoked.")
            g.actor, g.actor_kind = token, "token"  # no cookie: no CSRF to check
        else:
            g.actor = session_user()
            g.actor_kind = "user" if g.actor else "anonymous"
            if request.method in STATE_CHANGING:
                if not same_origin():
                    return refuse(403, "cross_origin", "The request came from another site.")
                if needed != permissions.PUBLIC or request.path == "/login":
                    try:
                        csrf.protect()
                    except CSRFError as exc:
                        return refuse(403 if g.actor or request.path == "/login" else 401,
                                      "csrf_failed" if g.actor or request.path == "/login" else "unauthenticated",
                                      exc.description if g.actor else "Log in first.")
        if needed == permissions.PUBLIC:
            return None
        if g.actor is None:
            if request.path.startswith("/api/"):
                return refuse(401, "unauthenticated", "Log in or send an API token.")
            return redirect("/login?next=" + request.path)
        if not permissions.allows(g.actor["role"], needed):
            return refuse(403, "forbidden", f"Your role may not do this (needs {needed}).")
        return None

    def refuse(status: int, code: str, message: str):
        g.refused = True
        if request.path.startswith("/api/") or request.path == "/logout":
            return json_response({"error": code, "message": message}, status)
        return Response(pages.render_error(status, code, message), status=status, mimetype="text/html")

    def session_user() -> dict | None:
        user_id = session.get("user_id")
        if not user_id:
            return None
        now = datetime.now(timezone.utc).timestamp()
        if now - session.get("last_seen", 0) > IDLE_TIMEOUT.total_seconds() or \
                now - session.get("logged_in_at", 0) > ABSOLUTE_TIMEOUT.total_seconds():
            session.clear()
            return None
        user = store_().user(user_id)
        if user is None:
            session.clear()
            return None
        session["last_seen"] = now
        return user

    def same_origin() -> bool:
        """Origin (or Referer) of a state-changing cookie request must be this site; a browser always
        sends Origin on a cross-site POST, so a missing header means a non-browser client."""
        offered = request.headers.get("Origin") or request.headers.get("Referer")
        if not offered:
            return True
        parts = urlsplit(offered)
        expected = app.extensions["cis_public_origin"] or request.host_url.rstrip("/")
        return f"{parts.scheme}://{parts.netloc}" == expected.rstrip("/")

    @app.after_request
    def headers_and_audit(response: Response):
        response.headers[CORRELATION_HEADER] = g.get("correlation_id", "")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.method in STATE_CHANGING and g.get("correlation_id"):
            audit(response.status_code)
        return response

    def audit(status: int) -> None:
        actor = g.get("actor")
        outcome = "done" if status < 400 else ("refused" if status in (401, 403, 429) or g.get("refused")
                                              else "failed")
        try:
            store_().audit(actor=None if actor is None else actor_name(), actor_kind=g.get("actor_kind", "anonymous"),
                           remote_addr=request.remote_addr, method=request.method, route=g.get("route", request.path),
                           target=request.path[:500], status=status, outcome=outcome,
                           correlation_id=g.correlation_id, detail=g.get("audit_detail"))
        except Exception:  # the change happened: say so loudly, without personal data
            log.exception("audit write failed (correlation id %s)", g.correlation_id)

    # --- errors: one table, never a traceback ------------------------------------------------

    @app.errorhandler(Exception)
    def error(exc):
        if isinstance(exc, HTTPException):
            if request.path.startswith("/api/"):
                return json_response({"error": exc.name.lower().replace(" ", "_"), "message": exc.description},
                                     exc.code)
            return Response(pages.render_error(exc.code, exc.name, exc.description), status=exc.code,
                            mimetype="text/html")
        status, body = error_body(exc, g.get("correlation_id"))
        if isinstance(exc, EXPECTED_ERRORS):
            log.info("%s %s -> %s %s (correlation id %s)", request.method, g.get("route"), status, body["error"],
                     g.get("correlation_id"))
        if request.path.startswith("/api/"):
            return json_response(body, status)
        return Response(pages.render_error(status, body["error"], body["message"], body.get("fields")),
                        status=status, mimetype="text/html")

    # --- login ------------------------------------------------------------------------------

    @app.get("/login")
    def login_form():
        return Response(pages.render_login(generate_csrf(), request.args.get("next", "/")), mimetype="text/html")

    @app.post("/login")
    @limiter.limit("10 per minute")
    def login():
        user_id = (request.form.get("user_id") or "")[:100]
        user = store_().authenticate(user_id, (request.form.get("password") or "")[:1000])
        g.audit_detail = {"user_id": user_id}
        if user is None:
            return Response(pages.render_login(generate_csrf(), (request.form.get("next") or "/")[:500], "Wrong user name or password, or the "
                                               "account is locked."), status=401, mimetype="text/html")
        session.clear()  # a fresh session id on login
        now = datetime.now(timezone.utc).timestamp()
        session.update(user_id=user["user_id"], logged_in_at=now, last_seen=now)
        session.permanent = True
        g.actor, g.actor_kind = user, "user"
        target = request.form.get("next") or "/"
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/", 303)

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect("/login", 303)

    @app.get("/healthz")
    def healthz():
        return json_response({"status": "ok"})

    # --- the JSON API -------------------------------------------------------------------------

    for method, rule, service, rpc_name, mode, status, actor_field in API:
        app.add_url_rule(rule, endpoint=f"{method} {rule}", methods=[method],
                         view_func=_forward(service, rpc_name, mode, status, actor_field))

    @app.get("/api/read-exceptions")
    def list_read_exceptions():
        filters = {k: v for k, v in request.args.items() if k in ("status", "rule", "meter_serial", "after_id", "limit")}
        return json_response(rpc().call("metering", "list_read_exceptions", filters))

    @app.get("/api/agency-deliveries")
    def agency_deliveries():
        return json_response(rpc().call("metering", "agency_deliveries", {"month": request.args.get("month")}))

    @app.get("/api/collections/worklist")
    def collections_worklist():
        return json_response(rpc().call("collections", "worklist", request.args.get("date")))

    @app.get("/api/collections/worklist/by-account")
    def collections_worklist_by_account():
        return json_response(rpc().call("collections", "worklist_v2", request.args.get("date")))

    @app.get("/api/business-date")
    def get_business_date():
        return json_response({"business_date": rpc().call("billing", "get_business_date")})

    @app.put("/api/business-date")
    def set_business_date():
        body = read_json()
        business_date = body.get("business_date") if isinstance(body, dict) else body
        dates = _values(rpc().call_all({name: (name, "set_business_date", business_date)
                                        for name in SERVICES_WITH_CLOCK}))
        return json_response({"business_date": dates["billing"], "services": dates})

    # --- staff pages ----------------------------------------------------------------------------

    @app.get("/")
    def index_page():
        outcomes = rpc().call_all({"business_date": ("billing", "get_business_date")})
        return html(pages.render_index(pages.Section.from_outcome(outcomes["business_date"])))

    @app.get("/accounts/<account_id>")
    def account_page(account_id):
        outcomes = rpc().call_all({
            "account": ("accounts", "get_account", account_id),
            "bill_delivery": ("accounts", "get_bill_delivery", account_id),
            "reads": ("metering", "account_meter_reads_v3", account_id),
            "statement": ("billing", "account_statement_v2", account_id),
            "business_date": ("billing", "get_business_date"),
            "collections": ("collections", "account_status", account_id),
            "collections_date": ("collections", "get_business_date"),
            "notices": ("notifications", "list_deliveries_v2", account_id),
        })
        if isinstance(outcomes["account"].error, NotFound):
            raise outcomes["account"].error
        sections = {name: pages.Section.from_outcome(o) for name, o in outcomes.items()}
        return html(pages.render_account(account_id, sections))

    @app.get("/collections/worklist")
    def collections_worklist_page():
        outcomes = rpc().call_all({"worklist": ("collections", "worklist_v2", request.args.get("date") or None),
                                   "business_date": ("billing", "get_business_date")})
        if isinstance(outcomes["worklist"].error, InvalidInput):
            raise outcomes["worklist"].error
        sections = {name: pages.Section.from_outcome(o) for name, o in outcomes.items()}
        return html(pages.render_collections_worklist(sections["worklist"], sections["business_date"]))

    from cis_gateway.actions import action_pages  # here: both use this module's helpers
    from cis_gateway.search import search_pages
    app.register_blueprint(action_pages)
    app.register_blueprint(search_pages)
    pages.use_request_globals(viewer=_signed_in_user, csrf_token=_csrf_token, messages=_messages, may=may)
    return app


def _signed_in_user() -> dict | None:
    return g.get("actor") if has_request_context() and g.get("actor_kind") == "user" else None


def _csrf_token() -> str:
    return generate_csrf() if has_request_context() else ""


def _messages() -> list[str]:
    return get_flashed_messages() if has_request_context() else []


def may(permission: str) -> bool:
    """Whether the signed-in user or token holds the permission (pages offer only what the user may)."""
    actor = g.get("actor") if has_request_context() else None
    return actor is not None and permissions.allows(actor["role"], permission)


def html(text: str) -> Response:
    return Response(text, mimetype="text/html")


def _values(outcomes):
    from cis_gateway.rpc_client import values_or_raise
    return values_or_raise(outcomes)


def _forward(service: str, rpc_name: str, mode: str, status: int, actor_field: str | None):
    def view(**path_values):
        if mode == NONE:
            args = ()
        elif mode == ARGS:
            args = tuple(path_values.values())
        else:
            body = read_json()
            if mode == WITH and isinstance(body, dict):
                body = {**body, **path_values}
            if actor_field and isinstance(body, dict):
                body[actor_field] = actor_name()  # "posted by" comes from the session or token, never the body
            args = (body,)
        return json_response(rpc().call(service, rpc_name, *args), status)
    view.__name__ = f"{service}_{rpc_name}"
    return view


def app_from_environment() -> Flask:
    """What gunicorn serves (cis_gateway.gunicorn_config, which also stores the bootstrap token once)."""
    return create_app()
