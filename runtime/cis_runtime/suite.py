"""Run the whole suite as OS processes, one per service, the way the README starts it.

    python -m cis_runtime.suite demo      # prepare, start everything, seed a demo district, wait

Used by `bin/demo` and by the end-to-end tests (class `Suite`), so the tests start the
services exactly as a District would. The nameko services run under cis_runtime.edge.launch, the
gateway under gunicorn. The runner makes the gateway's session key and an administrator's API token
for itself (`Suite.api_token`: what the demo seeding, the tests and the simulation call the API with).

The runner supervises what it started (issue 16): a process that exits when nobody asked it to
(`kill()` and `stop()` ask) is logged with its exit code and started again after a back-off
(CIS_SUITE_RESTART_DELAY seconds, doubled for every restart of that service in the last minute, at most
10 s); after CIS_SUITE_RESTARTS_PER_MINUTE restarts (default 5) within a minute it stays down and the
runner logs that it gave up, as systemd's start limit does (deploy/systemd/cis@.service).
"""
import collections
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cis_runtime import config

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVICE_ORDER = ("accounts", "metering", "billing", "collections", "notifications", "gateway")
log = logging.getLogger(__name__)


class RestartPolicy:
    """When to start a died service again: after `base` seconds doubled for each restart in the last
    `window` seconds (at most `cap`), or never (None) once `limit` restarts fell within the window."""

    def __init__(self, base: float, limit: int, cap: float = 10.0, window: float = 60.0):
        self.base, self.limit, self.cap, self.window = base, limit, cap, window
        self.restarts: dict[str, collections.deque] = collections.defaultdict(collections.deque)

    def delay(self, service: str, now: float) -> float | None:
        recent = self.restarts[service]
        while recent and now - recent[0] >= self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            return None
        return min(self.base * 2 ** len(recent), self.cap)

    def restarted(self, service: str, now: float) -> None:
        self.restarts[service].append(now)


class Suite:
    def __init__(self, log_dir: Path, env: dict | None = None):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        from cis_gateway.admin import new_token

        self.api_token = new_token()
        self.env = {"CIS_GATEWAY_SECRET_KEY": secrets.token_hex(32), **os.environ, **(env or {}),
                    "CIS_GATEWAY_BOOTSTRAP_TOKEN": self.api_token, "PYTHONUNBUFFERED": "1"}
        self.processes: dict[str, subprocess.Popen] = {}
        self.policy = RestartPolicy(float(config.env("CIS_SUITE_RESTART_DELAY", "1")),
                                    int(config.env("CIS_SUITE_RESTARTS_PER_MINUTE", "5")))
        self.exits: list[tuple[str, int]] = []  # (service, exit code) of every unexpected exit, in order
        self.given_up: set[str] = set()  # services left down after too many restarts in a minute
        self._down: dict[str, float] = {}  # died unexpectedly, waiting for its restart: since when
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def prepare(self, services=SERVICE_ORDER) -> None:
        """Create and migrate databases and declare every queue before anything publishes."""
        subprocess.run([PYTHON, "-m", "cis_runtime.edge.launch", *services, "--prepare"],
                       env=self.env, check=True, cwd=ROOT)

    def create_user(self, user_id: str, display_name: str, role: str, password: str) -> bool:
        """A staff user in the gateway's database, as an administrator makes one (cis_gateway.admin);
        False when that user exists already."""
        done = subprocess.run([PYTHON, "-m", "cis_gateway.admin", "create-user", user_id, "--name", display_name,
                               "--role", role, "--password", password], env=self.env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode == 2 and "exists" in done.stderr:
            return False
        if done.returncode != 0:
            raise RuntimeError(f"create-user {user_id}: {done.stderr.strip()}")
        return True

    def start(self, service: str, timeout: float = 60) -> subprocess.Popen:
        with self._lock:
            self._down.pop(service, None)
            self.given_up.discard(service)
        log_file = open(self.log_dir / f"{service}.log", "ab")
        process = subprocess.Popen(command(service), env=self.env, stdout=subprocess.PIPE, stderr=log_file, cwd=ROOT)
        deadline = time.monotonic() + timeout
        for line in process.stdout:  # the launcher prints READY once its container runs
            log_file.write(line)
            if line.startswith(b"READY"):
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError(f"{service} exited before it was ready; see {self.log_dir / service}.log")
        process.stdout.close()
        with self._lock:
            if self._stopping.is_set():  # stop() ran while this one started: it must not outlive the suite
                _terminate([process])
                raise RuntimeError(f"{service}: the suite stopped while it started")
            self.processes[service] = process
            if self._supervisor is None:
                self._supervisor = threading.Thread(target=self._supervise, name="suite-supervisor", daemon=True)
                self._supervisor.start()
        return process

    def start_all(self) -> None:
        try:
            for service in SERVICE_ORDER:
                self.start(service)
        except BaseException:
            self.stop()  # a service that failed to start must not leave the others running, orphaned
            raise

    def kill(self, service: str) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies. The caller starts it again (not the
        supervisor: a kill asked for is not a crash)."""
        with self._lock:
            process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """SIGTERM to every process (the gateway first), wait for their clean shutdown; nothing is restarted
        from here on."""
        self._stopping.set()
        with self._lock:
            processes = list(reversed(list(self.processes.values())))
            self.processes.clear()
            self._down.clear()
        _terminate(processes)
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=70)  # it may be waiting for a restarted process's READY

    def _supervise(self) -> None:
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            with self._lock:
                for service, process in list(self.processes.items()):
                    if process.poll() is not None:
                        del self.processes[service]
                        self._down[service] = now
                        self.exits.append((service, process.returncode))
                        log.error("%s exited unexpectedly (exit code %s)", service, process.returncode)
                due = []
                for service, since in list(self._down.items()):
                    delay = self.policy.delay(service, now)
                    if delay is None:
                        del self._down[service]
                        self.given_up.add(service)
                        log.error("%s died %d times within a minute: not restarted again", service,
                                  self.policy.limit)
                    elif now - since >= delay:
                        due.append(service)
            for service in due:
                if self._stopping.is_set():
                    return
                self.policy.restarted(service, time.monotonic())
                log.warning("restarting %s", service)
                try:
                    self.start(service)
                    log.warning("%s restarted", service)
                except Exception as error:  # noqa: BLE001 (counted; tried again after the next back-off)
                    log.error("%s failed to restart: %s", service, error)
                    with self._lock:
                        if not self._stopping.is_set():
                            self._down[service] = time.monotonic()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('CIS_GATEWAY_PORT', config.gateway_port())}"


def _terminate(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def command(service: str) -> list[str]:
    if service == config.GATEWAY:
        return [PYTHON, "-m", "gunicorn", "--config", "python:cis_gateway.gunicorn_config"]
    return [PYTHON, "-m", "cis_runtime.edge.launch", service]


def demo() -> None:
    from cis_runtime.demo import create_demo_staff, seed_demo_district
    from cis_runtime.mailsink import start_mail_sink
    from cis_runtime import logs

    logs.configure(config.env("CIS_LOG_LEVEL", "INFO"))  # the supervisor's restarts show on the console
    var = ROOT / "var"
    mail_host, mail_port = config.smtp_address()
    sink = start_mail_sink(mail_host, mail_port, var / "mail")
    suite = Suite(var / "log", {"CIS_COLLECTIONS_POLL_SECONDS": "5",
                                "CIS_MAIL_DROP_DIR": str(var / "mail-drop")})
    try:
        suite.prepare()
        suite.start_all()
        summary = seed_demo_district(suite.gateway_url, suite.api_token)
        staff = create_demo_staff(suite.create_user)
        print(f"\nThe suite is running. Staff web UI and API: {suite.gateway_url}/ (log in as one of the users below)")
        print(summary)
        print(staff)
        print(f"E-mail sent by notifications is saved under {var / 'mail'}; printed bills and letters for the "
              f"mail house under {var / 'mail-drop'}; logs under {var / 'log'}.")
        print("Press Ctrl-C to stop everything.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan the services
        print("stopping...")
        suite.stop()
        sink.stop()


if __name__ == "__main__":
    if sys.argv[1:] != ["demo"]:
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM as on Ctrl-C
    demo()
