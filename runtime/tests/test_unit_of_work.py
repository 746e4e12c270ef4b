"""A producer cannot put an event its own contract rejects into the outbox."""
import pytest
import sqlalchemy as sa
from marshmallow import ValidationError

from cis_contracts.registry import get

OPENED = "accounts.account_opened.v1"


def test_emitting_a_payload_that_breaks_its_contract_fails_and_stores_nothing(service_db):
    uow_factory = service_db("accounts")
    payload = get(OPENED).schema().load(get(OPENED).examples()[0])
    payload["email"] = "not an email"
    with uow_factory() as uow:
        with pytest.raises(ValidationError) as error:
            uow.emit_many(OPENED, [payload, payload])
        assert "email" in error.value.messages
    with uow_factory.engine.connect() as db:
        assert db.scalar(sa.text("select count(*) from outbox")) == 0
