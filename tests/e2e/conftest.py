"""End-to-end fixtures: every service as its own OS process (started as bin/demo starts them),
a real SMTP server, the AMI head-end as a plain kombu publisher, headless Chromium."""
import socket
import shutil
import threading

import pytest
import requests
from aiosmtpd.controller import Controller

from cis_runtime.suite import Suite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server's handler keeping every message it receives."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({"to": envelope.rcpt_tos, "body": envelope.content.decode("utf-8", "replace")})
        return "250 OK"

    def to(self, address: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if address in m["to"]]


@pytest.fixture(scope="session")
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def suite(mailbox, tmp_path_factory):
    running = Suite(tmp_path_factory.mktemp("logs"), {
        "CIS_GATEWAY_PORT": str(free_port()), "CIS_SMTP_HOST": "127.0.0.1", "CIS_SMTP_PORT": str(mailbox.port),
        "CIS_COLLECTIONS_POLL_SECONDS": "1", "CIS_BILL_RUN_POLL_SECONDS": "0.5",
        "CIS_BILL_RUN_CHUNK": "50",  # small chunks, so the crash test's SIGKILL lands mid-run
        "CIS_MAIL_DROP_DIR": str(tmp_path_factory.mktemp("mail-drop"))})  # printed bills and letters
    running.prepare()
    running.start_all()
    yield running
    running.stop()


class Api:
    """The JSON API as another District system calls it: with an API token (the suite runner's)."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body=None, expect=(200, 201)):
        response = self.http.request(method, self.base + path, json=body, timeout=60)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@pytest.fixture(scope="session")
def api(suite):
    return Api(suite.gateway_url + "/api", suite.api_token)


STAFF_PASSWORD = "e2e staff password, not for production"


@pytest.fixture(scope="session")
def staff_page(suite, browser):
    """`staff_page("billing_technician")`: a new browser context logged in through /login as a user of that role."""
    users = set()
    contexts = []

    def log_in(role: str):
        user_id = f"e2e.{role}"
        if user_id not in users:
            suite.create_user(user_id, f"E2E {role.replace('_', ' ')}", role, STAFF_PASSWORD)
            users.add(user_id)
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{suite.gateway_url}/login")
        page.get_by_label("User name").fill(user_id)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{suite.gateway_url}/")
        return page

    yield log_in
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        yield launched
        launched.close()
