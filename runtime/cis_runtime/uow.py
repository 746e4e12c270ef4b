"""Unit of work: one database transaction holding state changes, outgoing events and
the inbox record of the message being handled - all committed together or not at all.
"""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from cis_contracts.dumper import dumper
from cis_contracts.envelope import make_envelope
from cis_contracts.registry import get as get_contract
from cis_runtime.clock import BusinessClock
from cis_runtime.bulk import insert_rows
from cis_runtime.tables import add_runtime_tables

_RUNTIME = add_runtime_tables(sa.MetaData())
OUTBOX, INBOX = _RUNTIME["outbox"], _RUNTIME["inbox"]
OUTBOX_COLUMNS = {"message_id": "uuid", "message_name": "text", "exchange": "text", "routing_key": "text",
                  "envelope": "jsonb"}


class UnitOfWork:
    """Use as a context manager; call `commit()` to keep the work, otherwise it is rolled back."""

    def __init__(self, session_factory: sessionmaker, producer: str, correlation_id: str | None = None,
                 on_events_committed=None):
        self._session_factory = session_factory
        self.producer = producer
        self.correlation_id = correlation_id
        self.session: Session | None = None
        # told after a commit that put events in the outbox: the service's relay publishes them at once
        # instead of at its next poll (each hop of an event chain would otherwise wait for a poll)
        self._on_events_committed = on_events_committed
        self._emitted = False

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        self.session.commit()
        if self._emitted and self._on_events_committed is not None:
            self._on_events_committed()
        self._emitted = False

    def today(self) -> date:
        return BusinessClock(self.session).today()

    def emit(self, message_name: str, payload: dict) -> str:
        """Queue an event in the outbox; it leaves only if this unit of work commits.

        The payload is dumped with the contract's schema, so Decimals become strings and a
        producer cannot emit a message its own contract would reject.
        """
        rows = self.emit_many(message_name, [payload])
        return rows[0]

    def emit_many(self, message_name: str, payloads: list[dict]) -> list[str]:
        """Queue many events of one contract, inserted into the outbox in one statement. Every payload is
        dumped as the contract's schema dumps it; the first is also re-loaded as the producer's
        check. Re-loading all of them cost a 100,000-bill run more than half its time; the
        services' tests load every payload they emit."""
        contract = get_contract(message_name)
        dump = dumper(message_name)
        dumped = [dump(payload) for payload in payloads]
        if dumped:
            contract.schema().load(dumped[0])
        envelopes = [make_envelope(message_name, self.producer, payload, self.correlation_id) for payload in dumped]
        self._emitted = self._emitted or bool(envelopes)
        insert_rows(self.session, "outbox", OUTBOX_COLUMNS,
                    ((envelope["message_id"], message_name, contract.exchange, message_name, envelope)
                     for envelope in envelopes))
        return [envelope["message_id"] for envelope in envelopes]

    def first_delivery(self, message_id: str, consumer: str, message_name: str) -> bool:
        """Record that `consumer` handled `message_id`; False if it already had (a redelivery)."""
        inserted = self.session.execute(
            insert(INBOX).values(message_id=message_id, consumer=consumer, message_name=message_name)
            .on_conflict_do_nothing().returning(INBOX.c.message_id)).first()
        return inserted is not None
