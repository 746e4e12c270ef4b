"""Bulk inserts keep every value exactly, and emit_many's outbox rows are what the relay publishes."""
import uuid
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_contracts.registry import get
from cis_runtime.bulk import insert_rows

AWKWARD = 'tab\there "quoted" back\\slash\nnew line, é, {braces}, [1, 2]'
COLUMNS = {"label": "text", "amount": "numeric", "on_day": "date", "ref": "uuid", "detail": "jsonb", "note": "text"}


def test_bulk_insert_round_trips_text_numbers_dates_uuids_json_and_nulls(service_db):
    uow_factory = service_db("accounts")
    rows = [(AWKWARD, Decimal("-12.345678901234567890"), date(2026, 2, 28), uuid.UUID(int=7),
             {"text": AWKWARD, "list": [1, "2", None]}, None),
            ("second", Decimal("0E-8"), date(2027, 1, 1), uuid.UUID(int=8), [], "kept")]
    with uow_factory() as uow:
        uow.session.execute(sa.text("create temp table bulk_probe (label text, amount numeric, on_day date, "
                                    "ref uuid, detail jsonb, note text)"))
        assert insert_rows(uow.session, "bulk_probe", COLUMNS, iter(rows)) == 2
        stored = uow.session.execute(sa.text("select * from bulk_probe order by label")).all()
    assert [tuple(row) for row in stored] == [tuple(row) for row in sorted(rows, key=lambda row: row[0])]


def test_bulk_insert_of_nothing_runs_no_statement(service_db):
    uow_factory = service_db("accounts")
    with uow_factory() as uow:
        assert insert_rows(uow.session, "no_such_table", COLUMNS, []) == 0


def test_emit_many_stores_each_envelope_whole_for_the_relay(service_db):
    name = "accounts.account_opened.v1"
    payloads = [get(name).schema().load(example) for example in get(name).examples()] * 3
    uow_factory = service_db("accounts")
    with uow_factory() as uow:
        message_ids = uow.emit_many(name, payloads)
        uow.commit()
    with uow_factory.engine.connect() as db:
        stored = db.execute(sa.text("select message_id, message_name, routing_key, envelope from outbox "
                                    "order by id")).all()
    assert [str(row.message_id) for row in stored] == message_ids
    assert {row.message_name for row in stored} == {row.routing_key for row in stored} == {name}
    assert [row.envelope["payload"] for row in stored] == [get(name).schema().dump(p) for p in payloads]
    assert all(str(row.message_id) == row.envelope["message_id"] for row in stored)
