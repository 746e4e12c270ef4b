"""Billing's side of the seam, as these tests publish it.

Collections asks billing for each account's ledger position before it acts (billing.ledger_positions).
Billing is outside this service: `FakeBilling` (over RPC; in process where the real billing runs too)
answers from a ledger of the billing events the test
published (each entry once, by its id, as billing announces each entry by exactly one event), so the
tests that publish a bill and wait for collections to apply it see a current view, and a test can put
an entry in billing's ledger that collections has not applied (`billing_ledger.post(...)`, no event).
"""
import pytest

from billing_fake import LEDGER, FakeBilling


@pytest.fixture
def billing_ledger():
    return LEDGER


@pytest.fixture(autouse=True)
def _fresh_ledger():
    LEDGER.entries.clear()
    LEDGER.unreachable = False
    yield


@pytest.fixture
def publish(publish):
    """The suite's publish, with every billing event also entered in billing's ledger."""
    def send(name, payload=None, envelope=None, producer_name="test"):
        if payload is not None:
            LEDGER.record_event(name, payload)
        return publish(name, payload, envelope=envelope, producer_name=producer_name)
    return send


class _LedgerPort:
    """The ledger answer in process, for tests that run the real billing beside collections (their bills are
    published straight to collections, so billing's own ledger does not hold them)."""

    def ledger_positions(self, request):
        return FakeBilling().ledger_positions(request)


@pytest.fixture
def running_services(running_services):
    """As the suite's running_services; collections asks billing's ledger above for its positions."""
    from nameko.testing.services import replace_dependencies
    from nameko.testing.utils import get_container

    from cis_runtime.edge.launch import service_class

    def with_billing_ledger(runner, services):
        if "collections" in services and "billing" in services:
            replace_dependencies(get_container(runner, service_class("collections")), billing=_LedgerPort())
        elif "collections" in services:
            runner.add_service(FakeBilling)

    return lambda *services: running_services(*services, before_start=with_billing_ledger)
