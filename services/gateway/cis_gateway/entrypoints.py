"""nameko HTTP entrypoints of the gateway: correlation ids, JSON bodies and the error table.

`api(method, url)` answers errors as JSON; `page(method, url)` answers them as an HTML page.
Both share one web server (WEB_SERVER_ADDRESS, from CIS_GATEWAY_PORT).
"""
import json
import re
import uuid
from functools import partial

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from cis_gateway import pages
from cis_gateway.errors import EXPECTED_ERRORS, MalformedJson, error_body

CORRELATION_HEADER = "X-Correlation-Id"
# A caller's id is echoed into logs and headers, so accept only a plain token.
_ACCEPTABLE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def correlation_id_of(request: Request) -> str:
    offered = request.headers.get(CORRELATION_HEADER, "")
    return offered if _ACCEPTABLE_CORRELATION_ID.match(offered) else uuid.uuid4().hex


def json_response(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def html_response(html: str, status: int = 200) -> Response:
    return Response(html, status=status, mimetype="text/html")


def read_json(request: Request):
    """The request body as JSON; an empty body reads as {} so the contract can name missing fields."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"The request body is not valid JSON: {exc}") from None


class _GatewayWsgiApp(WsgiApp):
    """Answers unknown URLs and wrong methods under /api/ as JSON rather than werkzeug's HTML."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        try:
            self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            if request.path.startswith("/api/"):
                response = json_response({"error": exc.name.lower().replace(" ", "_"),
                                          "message": exc.description}, exc.code)
            else:
                response = html_response(pages.render_error(exc.code, exc.name, exc.description), exc.code)
            return response(environ, start_response)
        return super().__call__(environ, start_response)


class GatewayWebServer(WebServer):
    def context_data_from_headers(self, request):
        # worker_ctx.data travels as headers on every RPC the worker makes, so the
        # services' outbox rows and logs carry the same id as this HTTP request.
        return {"correlation_id": correlation_id_of(request)}

    def get_wsgi_app(self):
        return _GatewayWsgiApp(self)


class ApiHandler(HttpRequestHandler):
    server = GatewayWebServer()

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED_ERRORS)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        """As nameko's, but errors go through the error table and every answer carries the correlation id."""
        request.shallow = False
        context_data = self.server.context_data_from_headers(request)
        correlation_id = context_data["correlation_id"]
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            response = self.response_from_result(event.wait())
        except Exception as exc:
            response = self.error_response(exc, correlation_id)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    def error_response(self, exc, correlation_id):
        status, body = error_body(exc, correlation_id)
        return json_response(body, status)


class PageHandler(ApiHandler):
    def error_response(self, exc, correlation_id):
        status, body = error_body(exc, correlation_id)
        return html_response(pages.render_error(status, body["error"], body["message"], body.get("fields")), status)


api = ApiHandler.decorator
page = PageHandler.decorator
