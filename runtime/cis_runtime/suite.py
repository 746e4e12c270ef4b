"""Run the whole suite as OS processes, one per service, the way the README starts it.

    python -m cis_runtime.suite demo      # prepare, start everything, seed a demo district, wait

Used by `bin/demo` and by the end-to-end tests (class `Suite`), so the tests start the
services exactly as a District would. The nameko services run under cis_runtime.edge.launch, the
gateway under gunicorn. The runner makes the gateway's session key and an administrator's API token
for itself (`Suite.api_token`: what the demo seeding, the tests and the simulation call the API with).
"""
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from cis_runtime import config

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVICE_ORDER = ("accounts", "metering", "billing", "collections", "notifications", "gateway")


class Suite:
    def __init__(self, log_dir: Path, env: dict | None = None):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        from cis_gateway.admin import new_token

        self.api_token = new_token()
        self.env = {"CIS_GATEWAY_SECRET_KEY": secrets.token_hex(32), **os.environ, **(env or {}),
                    "CIS_GATEWAY_BOOTSTRAP_TOKEN": self.api_token, "PYTHONUNBUFFERED": "1"}
        self.processes: dict[str, subprocess.Popen] = {}

    def prepare(self) -> None:
        """Create and migrate databases and declare every queue before anything publishes."""
        subprocess.run([PYTHON, "-m", "cis_runtime.edge.launch", *SERVICE_ORDER, "--prepare"],
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
        log = open(self.log_dir / f"{service}.log", "ab")
        process = subprocess.Popen(command(service), env=self.env, stdout=subprocess.PIPE, stderr=log, cwd=ROOT)
        deadline = time.monotonic() + timeout
        for line in process.stdout:  # the launcher prints READY once its container runs
            log.write(line)
            if line.startswith(b"READY"):
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError(f"{service} exited before it was ready; see {self.log_dir / service}.log")
        process.stdout.close()
        self.processes[service] = process
        return process

    def start_all(self) -> None:
        try:
            for service in SERVICE_ORDER:
                self.start(service)
        except BaseException:
            self.stop()  # a service that failed to start must not leave the others running, orphaned
            raise

    def kill(self, service: str) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        process = self.processes.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for service, process in reversed(list(self.processes.items())):
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('CIS_GATEWAY_PORT', config.gateway_port())}"


def command(service: str) -> list[str]:
    if service == config.GATEWAY:
        return [PYTHON, "-m", "gunicorn", "--config", "python:cis_gateway.gunicorn_config"]
    return [PYTHON, "-m", "cis_runtime.edge.launch", service]


def demo() -> None:
    from cis_runtime.demo import create_demo_staff, seed_demo_district
    from cis_runtime.mailsink import start_mail_sink

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
