"""A bill run that dies mid-way resumes and still bills every account exactly once.

These drive the service layer directly on the real database; the crash is injected by
raising at the end of a chunk's work, before its commit (what a SIGKILL there leaves).
"""
import importlib
from datetime import date

import pytest
import sqlalchemy as sa

from cis_billing.adapters.locks import try_advisory_lock
from cis_billing.service_layer import bill_runs
from cis_billing.service_layer.services import record_account_opened
from cis_contracts.envelope import open_envelope
from v3_determinants import every_account_used

SEED = importlib.import_module("cis_billing.migrations.versions.0001_initial")
ACCOUNTS = [f"A{n:07d}" for n in range(1, 8)]


class Killed(BaseException):
    """Like a SIGKILL, nothing in the run catches it."""


metering_answer = every_account_used("12")


@pytest.fixture
def billing_db(service_db):
    uow_factory = service_db("billing")
    with uow_factory() as uow:
        for account_id in ACCOUNTS:
            record_account_opened(uow, {"account_id": account_id, "bill_cycle": "1", "customer_class": "residential",
                                        "authorized_meter_size": "5/8", "opened_on": date(2026, 1, 5)})
        uow.commit()
    return uow_factory


def start_run(uow_factory) -> str:
    with uow_factory() as uow:
        return bill_runs.start_bill_run(uow, {"cycle": "1", "period_start": date(2026, 3, 1),
                                              "period_end": date(2026, 3, 31)})["run_id"]


def scalar(uow_factory, sql: str):
    with uow_factory() as uow:
        return uow.session.scalar(sa.text(sql))


def test_a_bill_run_killed_mid_chunk_resumes_with_exactly_one_bill_and_event_per_acscalar(billing_db, monkeypatch):
    run_id = start_run(billing_db)
    monkeypatch.setattr(bill_runs, "CHUNK", 2)
    monkeypatch.setattr(bill_runs, "CHUNKS_IN_FLIGHT", 1)  # one at a time, so the kill point is exact
    real_chunk, chunks = bill_runs.bill_chunk, []

    def killed_in_third_chunk(uow, *args):
        chunks.append(args)
        real_chunk(uow, *args)
        if len(chunks) == 3:
            raise Killed()

    monkeypatch.setattr(bill_runs, "bill_chunk", killed_in_third_chunk)
    with pytest.raises(Killed):
        bill_runs.execute_bill_run(billing_db, run_id, metering_answer)
    assert scalar(billing_db, "select count(*) from bills") == 4  # two chunks committed, the third lost
    assert scalar(billing_db, "select status from bill_runs") == "running"

    monkeypatch.setattr(bill_runs, "bill_chunk", real_chunk)
    bill_runs.execute_bill_run(billing_db, run_id, metering_answer)  # the restarted poller

    with billing_db() as uow:
        run = bill_runs.get_bill_run(uow, run_id)
        per_account = dict(uow.session.execute(sa.text(
            "select account_id, count(*) from bills group by account_id")).all())
        events = [open_envelope(e)[1] for e in uow.session.scalars(sa.text(
            "select envelope from outbox where message_name = 'billing.bill_issued.v1'"))]
    assert (run["status"], run["accounts_total"], run["bills_issued"], run["exceptions"]) == (
        "completed", 7, 7, [])
    assert per_account == {a: 1 for a in ACCOUNTS}
    assert sorted(e["bill_id"] for e in events) == sorted(set(e["bill_id"] for e in events))
    assert len(events) == 7
    assert scalar(billing_db, "select count(*) from ledger_entries where kind = 'bill'") == 7


def test_two_workers_never_execute_one_bill_run(billing_db):
    run_id = start_run(billing_db)
    asked = []

    def metering(request):
        asked.append(request)
        return metering_answer(request)

    with try_advisory_lock(billing_db.engine, f"bill_run:{run_id}") as held:  # another worker has it
        assert held
        bill_runs.execute_due_bill_runs(billing_db, metering)
        assert asked == []
        assert scalar(billing_db, "select count(*) from bills") == 0

    bill_runs.execute_due_bill_runs(billing_db, metering)
    assert scalar(billing_db, "select count(*) from bills") == 7


def test_a_run_killed_with_two_chunks_in_flight_resumes_with_exactly_one_bill_per_account(billing_db, monkeypatch):
    run_id = start_run(billing_db)
    monkeypatch.setattr(bill_runs, "CHUNK", 2)
    real_chunk, chunks = bill_runs.bill_chunk, []

    def killed_in_second_chunk(uow, *args):
        chunks.append(args)
        number = len(chunks)  # taken before the chunk's work: the chunks in flight interleave
        real_chunk(uow, *args)
        if number == 2:
            raise Killed()

    monkeypatch.setattr(bill_runs, "bill_chunk", killed_in_second_chunk)
    with pytest.raises(Killed):
        bill_runs.execute_bill_run(billing_db, run_id, metering_answer)
    assert scalar(billing_db, "select count(*) from bills") < 7

    monkeypatch.setattr(bill_runs, "bill_chunk", real_chunk)
    bill_runs.execute_bill_run(billing_db, run_id, metering_answer)

    assert scalar(billing_db, "select count(*) from bills") == 7
    assert scalar(billing_db, "select count(distinct account_id) from bills") == 7
    assert scalar(billing_db, "select count(*) from outbox where message_name = 'billing.bill_issued.v1'") == 7
