"""The suite runner (cis_runtime.suite, as bin/demo, the e2e tests and the simulation start the suite)
restarts a service process that died without being asked to, and stops cleanly."""
import os
import signal
import time

import pytest
import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime import config
from cis_runtime.suite import RestartPolicy, Suite
from cis_runtime.testing import truncate_all, wait_for

ACCOUNT_OPENED = "accounts.account_opened.v1"


def contact(account_id: str):
    engine = sa.create_engine(config.database_url("notifications"))
    try:
        with engine.connect() as db:
            return db.execute(sa.text("select 1 from contacts where account_id = :a"), {"a": account_id}).first()
    finally:
        engine.dispose()


def account_opened(publish, account_id: str) -> None:
    payload = dict(get(ACCOUNT_OPENED).examples()[0])
    payload.update(account_id=account_id)
    publish(ACCOUNT_OPENED, payload, producer_name="accounts")


@pytest.fixture
def suite(tmp_path):
    running = Suite(tmp_path / "logs", {"CIS_SUITE_RESTART_DELAY": "1"})
    running.prepare(["notifications"])
    truncate_all("notifications")  # no contact left by an earlier test of the session
    yield running
    running.stop()


def test_a_service_killed_under_the_runner_comes_back_and_consumes_what_was_published_while_it_was_down(
        suite, publish):
    first = suite.start("notifications")
    account_opened(publish, "A0000001")
    wait_for(lambda: contact("A0000001"), timeout=30, message="the first contact")

    os.kill(first.pid, signal.SIGKILL)  # not suite.kill(): nobody told the runner
    first.wait()
    account_opened(publish, "A0000002")  # confirmed by the broker while no notifications process runs
    assert suite.processes.get("notifications") in (None, first), "restarted before the publish: proves nothing"
    assert not contact("A0000002")

    restarted = wait_for(lambda: (p := suite.processes.get("notifications")) is not None and p is not first and p,
                         timeout=60, message="notifications restarted by the runner")
    wait_for(lambda: contact("A0000002"), timeout=30, message="the contact published while it was down")
    assert suite.exits == [("notifications", -signal.SIGKILL)]
    assert restarted.poll() is None

    suite.stop()  # clean shutdown: SIGTERM, nameko stops its workers, exit 0; nothing started again
    assert restarted.returncode == 0
    time.sleep(1.5)
    assert suite.processes == {} and suite.exits == [("notifications", -signal.SIGKILL)]


def test_a_kill_asked_for_is_not_restarted_by_the_runner(suite):
    process = suite.start("notifications")
    suite.kill("notifications")
    time.sleep(2.5)  # more than the back-off
    assert process.returncode == -signal.SIGKILL
    assert suite.processes == {} and suite.exits == []


def test_restart_back_off_doubles_within_a_minute_and_gives_up_at_the_limit():
    policy = RestartPolicy(base=1, limit=3, cap=3)
    assert policy.delay("billing", now=0) == 1
    policy.restarted("billing", 0)
    assert policy.delay("billing", now=5) == 2
    policy.restarted("billing", 5)
    assert policy.delay("billing", now=10) == 3  # 4, capped
    policy.restarted("billing", 10)
    assert policy.delay("billing", now=20) is None  # 3 restarts within a minute: left down
    assert policy.delay("metering", now=20) == 1  # per service
    assert policy.delay("billing", now=65.5) == 2  # the first two restarts have left the window
