"""Adjustments: late penalties and fees collections asks for, and staff credits and debits.

Each posts one ledger entry and emits billing.adjustment_posted.v1 in one unit of work; bills stay
as issued. A request is posted once whatever is retried: the database keeps one adjustment per
request_id, and every penalty request seen (even one that came to 0.00) is remembered.
"""
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_billing.adapters.models import Adjustment, Bill, BillLine, LedgerEntry, PenaltyRequest
from cis_billing.adapters.models import Tariff as StoredTariff
from cis_billing.domain.adjustments import lines_total, penalty_lines, signed_amount, staff_lines
from cis_billing.domain.penalties import late_penalties
from cis_billing.domain.tariff_document import parse_tariff
from cis_billing.service_layer.services import balances, locked_account, next_id
from cis_runtime.errors import Conflict, InvalidInput, InvalidMessage

ADJUSTMENTS = Adjustment.__table__
EVENT_FIELDS = ("adjustment_id", "account_id", "kind", "amount", "posted_on", "reference", "bill_id", "reason",
                "lines", "balance_due")


# --- staff adjustments ----------------------------------------------------------------------

def post_adjustment(uow, request: dict) -> dict:
    """A staff credit or debit with its reason code, note and who posted it."""
    account = locked_account(uow, request["account_id"])
    if request["bill_id"] and uow.session.scalar(sa.select(Bill.account_id).where(
            Bill.bill_id == request["bill_id"])) != account.account_id:
        raise InvalidInput({"bill_id": [f"{request['bill_id']} is not a bill of account {account.account_id}."]})
    if request["request_id"] and (done := _adjustment_for_request(uow, request["request_id"])):
        return {**_same_request(done, request), "balance_due": balances(uow, [account.account_id])[account.account_id]}
    posted = _post(uow, account_id=account.account_id, kind=request["kind"],
                   amount=signed_amount(request["kind"], request["amount"]), reference=request["reason_code"],
                   bill_id=request["bill_id"], reason=f"{request['reason_code']}: {request['note']}",
                   note=request["note"], posted_by=request["posted_by"], request_id=request["request_id"],
                   lines=staff_lines(request["kind"], request["amount"], request["reason_code"], request["note"]))
    uow.commit()
    return posted


def _same_request(done: Adjustment, request: dict) -> dict:
    """A retried request returns what it posted; a different request under the same id is refused."""
    if (done.account_id, done.kind, done.amount) != (request["account_id"], request["kind"],
                                                     signed_amount(request["kind"], request["amount"])):
        raise Conflict(f"request {request['request_id']} already posted adjustment {done.adjustment_id}, "
                       f"which differs from this request")
    return adjustment_view(done)


# --- late penalties (collections.late_penalty_requested.v1) ---------------------------------

def assess_late_penalty(uow, request: dict) -> None:
    """Price a late penalty on the tariff version that billed the bill (its `penalties`) and post it.

    Collections decides when a penalty is due and whether interest is waived (H&S 116914); billing
    decides how much. A penalty of 0.00 posts nothing and emits nothing, but is remembered.
    """
    account = locked_account(uow, request["account_id"], missing=InvalidMessage)
    if uow.session.get(PenaltyRequest, request["request_id"]) is not None:
        return  # a repeat
    bill = _bill_of(uow, request)
    tariff = _billing_tariff(uow, bill.bill_id)
    basic = request["kind"] == "basic"
    lines = penalty_lines(late_penalties(
        tariff.penalties, request["current_charges"] if basic else 0, 0 if basic else request["past_due"],
        0 if basic else request["months"], request["waive_interest"]))
    amount = lines_total(lines)
    adjustment_id = None
    if amount:
        adjustment_id = _post(uow, account_id=account.account_id, kind="late_penalty", amount=amount,
                              reference=request["request_id"], bill_id=bill.bill_id,
                              reason=f"{request['rule']}; rates of {tariff.label}", note=None,
                              posted_by="collections", request_id=request["request_id"], lines=lines)["adjustment_id"]
    uow.session.add(PenaltyRequest(request_id=request["request_id"], account_id=account.account_id,
                                   bill_id=bill.bill_id, kind=request["kind"], assessed_on=request["assessed_on"],
                                   amount=amount, adjustment_id=adjustment_id))


def _bill_of(uow, request: dict) -> Bill:
    bill = uow.session.get(Bill, request["bill_id"])
    if bill is None or bill.account_id != request["account_id"]:
        raise InvalidMessage(f"bill {request['bill_id']} is not a bill of account {request['account_id']}")
    if request["kind"] == "basic" and request["current_charges"] > bill.total:
        raise InvalidMessage(f"current_charges {request['current_charges']} exceed bill {bill.bill_id}'s "
                             f"total {bill.total}")
    return bill


def _billing_tariff(uow, bill_id: str):
    """The version that billed the bill: that of its last line (the version in effect at the period's end)."""
    tariff_id, version = uow.session.execute(
        sa.select(BillLine.tariff_id, BillLine.tariff_version).where(BillLine.bill_id == bill_id)
        .order_by(BillLine.line_no.desc()).limit(1)).one()
    return parse_tariff(uow.session.get(StoredTariff, (tariff_id, version)).document)


# --- fees collections assessed (collections.fee_assessed.v1) ----------------------------------

def post_assessed_fee(uow, request: dict) -> None:
    """Post a fee collections charged (a reconnection fee, H&S 116914(a)(1) caps applied by collections) as a
    'fee' debit; its request_id posts it once whatever is redelivered."""
    account = locked_account(uow, request["account_id"], missing=InvalidMessage)
    if _adjustment_for_request(uow, request["request_id"]) is not None:
        return  # a repeat
    _post(uow, account_id=account.account_id, kind="fee", amount=request["amount"], reference=request["request_id"],
          bill_id=None, reason=f"{request['reason']}; {request['rule']['citation']}", note=None,
          posted_by="collections", request_id=request["request_id"],
          lines=[{"description": request["reason"], "amount": request["amount"],
                  "rule": f"{request['kind']}_fee"}])


# --- posting --------------------------------------------------------------------------------

def _post(uow, *, account_id, kind, amount, reference, bill_id, reason, note, posted_by, request_id,
          lines) -> dict:
    """The adjustment, its ledger entry and its event (the account is locked by the caller)."""
    row = {"adjustment_id": next_id(uow, "J"), "account_id": account_id, "kind": kind, "amount": amount,
           "posted_on": uow.today(), "reference": reference, "bill_id": bill_id, "reason": reason, "note": note,
           "posted_by": posted_by, "request_id": request_id, "lines": _json_lines(lines)}
    uow.session.execute(insert(ADJUSTMENTS).values(**row))
    uow.session.execute(sa.insert(LedgerEntry.__table__).values(
        account_id=account_id, kind=kind, amount=amount, posted_on=row["posted_on"], reference=row["adjustment_id"]))
    posted = {**row, "lines": lines, "balance_due": balances(uow, [account_id])[account_id]}
    uow.emit("billing.adjustment_posted.v1", {name: posted[name] for name in EVENT_FIELDS})
    return posted


def _json_lines(lines: list[dict]) -> list[dict]:
    return [{**line, "amount": str(line["amount"])} for line in lines]


def _adjustment_for_request(uow, request_id: str) -> Adjustment | None:
    return uow.session.scalar(sa.select(Adjustment).where(Adjustment.request_id == request_id))


def adjustments_of(uow, account_id: str) -> list[dict]:
    rows = uow.session.scalars(sa.select(Adjustment).where(Adjustment.account_id == account_id)
                               .order_by(Adjustment.posted_on, Adjustment.adjustment_id)).all()
    return [adjustment_view(row) for row in rows]


def adjustment_view(row: Adjustment) -> dict:
    return {"adjustment_id": row.adjustment_id, "account_id": row.account_id, "kind": row.kind,
            "amount": row.amount, "posted_on": row.posted_on, "reference": row.reference, "bill_id": row.bill_id,
            "reason": row.reason, "note": row.note, "posted_by": row.posted_by, "lines": row.lines}
