"""Billing's ledger as collections' tests publish it, and a fake billing answering ledger_positions from it
(a module of its own, not conftest: another service's tests have a conftest too, and `from conftest import`
would find theirs when the suites run together)."""
from decimal import Decimal

from nameko.rpc import rpc

ENTRY_IDS = {"billing.bill_issued.v1": "bill_id", "billing.payment_posted.v1": "payment_id",
             "billing.adjustment_posted.v1": "adjustment_id"}


class BillingLedger:
    def __init__(self):
        self.entries: dict[str, dict[str, Decimal]] = {}  # account -> entry id -> signed amount
        self.unreachable = False

    def post(self, account_id: str, entry_id: str, amount) -> None:
        """A ledger entry of billing (a bill or charge positive, a payment or credit negative)."""
        self.entries.setdefault(account_id, {})[entry_id] = Decimal(str(amount))

    def record_event(self, name: str, payload: dict) -> None:
        if name not in ENTRY_IDS:
            return
        amount = Decimal(str(payload.get("total", payload.get("amount"))))
        self.post(payload["account_id"], payload[ENTRY_IDS[name]],
                  -amount if name == "billing.payment_posted.v1" else amount)

    def positions(self, account_ids: list[str]) -> list[dict]:
        return [{"account_id": a, "entries": len(self.entries.get(a, {})),
                 "balance": str(sum(self.entries.get(a, {}).values(), Decimal("0.00")))} for a in account_ids]


LEDGER = BillingLedger()


class FakeBilling:
    name = "billing"

    @rpc
    def ledger_positions(self, request):
        if LEDGER.unreachable:
            raise ConnectionError("billing is down")
        return {"business_date": "2026-01-01", "positions": LEDGER.positions(request["account_ids"])}
