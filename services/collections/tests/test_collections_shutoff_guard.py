"""The statutory guard before a shutoff is ordered (issue 15, domain/shutoff_guard.py): whatever the
engine plans, collections orders no shutoff the statutes forbid on the day. The shutoff is held: no work
order, no event, the reasons in the action log and in the daily run's failed accounts for staff."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from cis_collections.adapters import models
from cis_collections.domain import engine, rules
from cis_collections.service_layer import timeline
from cis_runtime.edge.dependencies import engine_for
from cis_runtime.uow import UnitOfWork

from stories import account, bill

MEMORIAL_DAY = date(2026, 5, 25)


def rows(sql: str):
    with engine_for("collections").connect() as db:
        return db.execute(sa.text(sql)).all()


def test_gov_60374_and_hsc_116908_a_planned_shutoff_the_statutes_forbid_is_held_not_ordered(running_services):
    running_services("collections")
    state = account(bill(amount="64.55", issued_on="2026-03-02", due_on="2026-03-23"))  # no notice mailed
    planned = engine.Action(engine.SHUTOFF, MEMORIAL_DAY, rules.NO_WEEKEND_HOLIDAY_CLOSURE,
                            {"amount": Decimal("64.55"), "notice_id": None})
    with UnitOfWork(sessionmaker(bind=engine_for("collections")), "collections") as uow:
        row = models.CollectionAccount(account_id=state.account_id, status="delinquent", credit=Decimal("0.00"))
        uow.session.add(row)
        uow.session.flush()
        batch = timeline.Batch(uow)
        outcome = timeline.act(batch, row, [], state, MEMORIAL_DAY, [planned])
        batch.emit_all()
        uow.commit()

    reason = outcome.shutoff_held["reason"]
    assert reason.startswith("shutoff held by the statutory guard: Gov. Code 60374: not a business day")
    assert "H&S 116908: no written notice mailed" in reason
    assert rows("select count(*) from work_orders") == [(0,)]
    assert rows("select count(*) from outbox") == [(0,)]
    assert rows("select kind, citation, reason from collection_actions") == [
        ("shutoff_held", rules.NO_WEEKEND_HOLIDAY_CLOSURE.citation, reason)]
    assert not state.disconnected
