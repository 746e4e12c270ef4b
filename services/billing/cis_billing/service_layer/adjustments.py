"""Adjustments: late penalties and fees collections asks for, and staff credits and debits.

Each posts one ledger entry and emits billing.adjustment_posted.v1 in one unit of work; bills stay
as issued. A request is posted once whatever is retried: the database keeps one adjustment per
request_id, and every penalty request seen (even one that came to 0.00 or was refused) is remembered.
"""
import logging
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_billing.adapters.models import Adjustment, Bill, BillLine, LedgerEntry, Payment, PenaltyRequest
from cis_billing.adapters.models import Tariff as StoredTariff
from cis_billing.domain.adjustments import lines_total, penalty_lines, signed_amount, staff_lines
from cis_billing.domain.penalties import late_penalties
from cis_billing.domain.receivables import Charge, Credit, past_due_on, settled_by
from cis_billing.domain.tariff_document import parse_stored_tariff
from cis_billing.service_layer.services import balances, locked_account, next_id
from cis_runtime.errors import Conflict, InvalidInput, InvalidMessage

log = logging.getLogger(__name__)
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

    Collections decides when to ask and whether interest is waived (H&S 116914); billing, which owns
    the ledger, refuses a penalty its own facts do not support (receivables.py): a basic penalty on a
    bill paid by its due date plus the tariff's grace days; a monthly one beyond billing's own
    past-due balance on `assessed_on` (taken on no more than that balance). A basic penalty asked
    while the bill can still be paid on time (collections does not know the tariff's grace days)
    waits for the first day after them (`assess_deferred_penalties`). A penalty of 0.00 or a
    refusal posts nothing and emits nothing, but is remembered.
    """
    account = locked_account(uow, request["account_id"], missing=InvalidMessage)
    if uow.session.get(PenaltyRequest, request["request_id"]) is not None:
        return  # a repeat
    bill = _bill_of(uow, request)
    on_time_until = _on_time_until(uow, bill)
    if request["kind"] == "basic" and request["assessed_on"] <= on_time_until:
        uow.session.add(PenaltyRequest(
            request_id=request["request_id"], account_id=account.account_id, bill_id=bill.bill_id, kind="basic",
            assessed_on=request["assessed_on"], amount=Decimal("0.00"), deferred_until=on_time_until + timedelta(days=1),
            request=_json_request(request)))
        log.info("late penalty request %s deferred: bill %s can be paid on time until %s",
                 request["request_id"], bill.bill_id, on_time_until)
        return
    row = PenaltyRequest(request_id=request["request_id"], account_id=account.account_id, bill_id=bill.bill_id,
                         kind=request["kind"], assessed_on=request["assessed_on"])
    _price_and_post(uow, request, bill, row)
    uow.session.add(row)


def assess_deferred_penalties(uow) -> int:
    """Assess every deferred basic penalty whose day has come, on the ledger as it stands then (a bill
    paid within grace is refused, as if asked that day); each in the caller's unit of work, which
    commits. Returns how many were assessed."""
    due = uow.session.scalars(sa.select(PenaltyRequest).where(PenaltyRequest.deferred_until <= uow.today())
                              .order_by(PenaltyRequest.request_id).with_for_update(skip_locked=True)).all()
    for row in due:
        locked_account(uow, row.account_id, missing=InvalidMessage)
        request = {**_load_request(row.request), "assessed_on": row.deferred_until}
        row.assessed_on, row.deferred_until, row.request = row.deferred_until, None, None
        _price_and_post(uow, request, uow.session.get(Bill, row.bill_id), row)
    return len(due)


def _price_and_post(uow, request: dict, bill: Bill, row: PenaltyRequest) -> None:
    """Refuse, or price and post, the penalty; what came of it is written on `row`."""
    tariff = _billing_tariff(uow, bill.bill_id)
    charges, credits = _receivables(uow, bill.account_id)
    basic = request["kind"] == "basic"
    if basic:
        refusal, past_due = _basic_refusal(bill, tariff, charges, credits), Decimal(0)
    else:
        refusal, past_due = _monthly_base(request, charges, credits)
    if refusal:
        log.info("late penalty request %s refused: %s", request["request_id"], refusal)
        lines = []
    else:
        lines = penalty_lines(late_penalties(tariff.penalties, request["current_charges"] if basic else 0, past_due,
                                             0 if basic else request["months"], request["waive_interest"]))
    amount, adjustment_id = lines_total(lines), None
    if amount:
        capped = "" if basic or past_due == request["past_due"] else (
            f"; on billing's past-due balance {past_due} (asked: {request['past_due']})")
        adjustment_id = _post(uow, account_id=bill.account_id, kind="late_penalty", amount=amount,
                              reference=request["request_id"], bill_id=bill.bill_id,
                              reason=f"{request['rule']}; rates of {tariff.label}{capped}", note=None,
                              posted_by="collections", request_id=request["request_id"], lines=lines)["adjustment_id"]
    row.amount, row.adjustment_id, row.refusal_reason = amount, adjustment_id, refusal


def _json_request(request: dict) -> dict:
    return {key: str(value) if isinstance(value, (Decimal, date)) else value for key, value in request.items()}


def _load_request(stored: dict) -> dict:
    """A deferred request as asked (its money back to Decimal)."""
    return {**stored, "current_charges": Decimal(stored["current_charges"]), "past_due": Decimal(stored["past_due"])}


def _on_time_until(uow, bill: Bill):
    """The last day a payment settles `bill` on time: its due date plus the grace days of its tariff."""
    return bill.due_on + timedelta(days=_billing_tariff(uow, bill.bill_id).penalties.get("grace_days", 0))


def _basic_refusal(bill: Bill, tariff, charges, credits) -> str | None:
    """Why a basic penalty on `bill`, asked after its grace days, is not due, or None when it is."""
    grace = tariff.penalties.get("grace_days", 0)
    on_time_until = bill.due_on + timedelta(days=grace)
    if settled_by(charges, credits, bill.bill_id, on_time_until):
        return f"bill {bill.bill_id} was paid by {on_time_until} (due {bill.due_on} + {grace} grace days)"
    return None


def _monthly_base(request: dict, charges, credits) -> tuple[str | None, Decimal]:
    """(why a monthly penalty is refused, or None; the past-due balance it is taken of): no more than
    billing's own past-due balance on the day it is assessed."""
    own = past_due_on(charges, credits, request["assessed_on"])
    if own <= 0:
        return f"nothing past due on {request['assessed_on']}", Decimal("0.00")
    return None, min(request["past_due"], own)


def _receivables(uow, account_id: str) -> tuple[list[Charge], list[Credit]]:
    """The account's ledger as charges (bills with their due date plus grace days, positive
    adjustments) and credits (payments on the day received, credit adjustments; a returned payment
    takes back money received), in ledger order."""
    entries = uow.session.execute(
        sa.select(LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.posted_on, LedgerEntry.reference,
                  Payment.received_on, Bill.due_on, Adjustment.reference.label("reason_code"))
        .outerjoin(Payment, sa.and_(LedgerEntry.kind == "payment", Payment.payment_id == LedgerEntry.reference))
        .outerjoin(Bill, sa.and_(LedgerEntry.kind == "bill", Bill.bill_id == LedgerEntry.reference))
        .outerjoin(Adjustment, Adjustment.adjustment_id == LedgerEntry.reference)
        .where(LedgerEntry.account_id == account_id).order_by(LedgerEntry.entry_id)).all()
    grace = _grace_days(uow, [e.reference for e in entries if e.kind == "bill"])
    charges, credits = [], []
    for e in entries:
        if e.kind == "debit" and e.reason_code == "returned_payment":
            credits.append(Credit(e.posted_on, -e.amount))
        elif e.amount > 0 or e.kind == "bill":  # a bill of 0.00 is a charge, settled as issued
            due_by = e.due_on + timedelta(days=grace.get(e.reference, 0)) if e.kind == "bill" else None
            charges.append(Charge(e.reference, e.posted_on, e.amount, due_by))
        elif e.amount < 0:
            credits.append(Credit(e.received_on or e.posted_on, -e.amount))
    return charges, credits


def _grace_days(uow, bill_ids: list[str]) -> dict[str, int]:
    """Each bill's grace days: those of the tariff version that billed it."""
    versions = _billing_versions(uow, bill_ids)
    tariffs = {key: parse_stored_tariff(uow.session.get(StoredTariff, key).document) for key in set(versions.values())}
    return {bill_id: tariffs[key].penalties.get("grace_days", 0) for bill_id, key in versions.items()}


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
    return parse_stored_tariff(uow.session.get(StoredTariff, _billing_versions(uow, [bill_id])[bill_id]).document)


def _billing_versions(uow, bill_ids: list[str]) -> dict[str, tuple[str, int]]:
    """bill_id -> (tariff_id, version) of its last line."""
    if not bill_ids:
        return {}
    rows = uow.session.execute(
        sa.select(BillLine.bill_id, BillLine.tariff_id, BillLine.tariff_version).distinct(BillLine.bill_id)
        .where(BillLine.bill_id.in_(bill_ids)).order_by(BillLine.bill_id, BillLine.line_no.desc())).all()
    return {bill_id: (tariff_id, version) for bill_id, tariff_id, version in rows}


def reverse_penalties_paid_on_time(uow, account_id: str, received_on: date) -> list[dict]:
    """Credit back each late penalty the account's payments, by the day they were received, show was
    not due: a check received by the due date but posted after the penalty (keyed in late, found in
    the lockbox file of a later day). A basic penalty whose bill was settled by its due date plus
    grace days, or a monthly one with nothing past due on the day it was assessed, is reversed in full
    by a credit posted once (request id `<penalty>-reversal`). Called with the account locked, after
    a payment's ledger entry, in its unit of work. Only a penalty assessed on or after the day the
    payment was received can be one (a basic penalty is assessed after due + grace): a payment
    received today, the usual case, looks at no history."""
    reversal = ADJUSTMENTS.alias("reversal")
    penalties = uow.session.execute(
        sa.select(Adjustment, PenaltyRequest.kind, PenaltyRequest.assessed_on)
        .join(PenaltyRequest, PenaltyRequest.adjustment_id == Adjustment.adjustment_id)
        .where(Adjustment.account_id == account_id, Adjustment.kind == "late_penalty",
               PenaltyRequest.assessed_on >= received_on,
               ~sa.exists().where(reversal.c.request_id == Adjustment.adjustment_id + "-reversal"))
        .order_by(Adjustment.adjustment_id)).all()
    if not penalties:
        return []
    charges, credits = _receivables(uow, account_id)
    reversed_ = []
    for penalty, kind, assessed_on in penalties:
        why = _not_due_after_all(uow, penalty, kind, assessed_on, charges, credits)
        if why is None:
            continue
        reversed_.append(_post(
            uow, account_id=account_id, kind="credit", amount=-penalty.amount, reference="late_penalty_reversal",
            bill_id=penalty.bill_id, reason=f"late_penalty_reversal: {why}", note=None, posted_by="billing",
            request_id=f"{penalty.adjustment_id}-reversal",
            lines=[{"description": f"Late penalty {penalty.adjustment_id} reversed: {why}",
                    "amount": -penalty.amount, "rule": "late_penalty_reversal"}]))
        log.info("late penalty %s reversed: %s", penalty.adjustment_id, why)
    return reversed_


def _not_due_after_all(uow, penalty: Adjustment, kind: str, assessed_on, charges, credits) -> str | None:
    if kind == "basic":
        bill = uow.session.get(Bill, penalty.bill_id)
        on_time_until = _on_time_until(uow, bill)
        if settled_by(charges, credits, bill.bill_id, on_time_until):
            return f"bill {bill.bill_id} was paid by {on_time_until} (payments by the day received)"
        return None
    if past_due_on(charges, credits, assessed_on) <= 0:
        return f"nothing was past due on {assessed_on} (payments by the day received)"
    return None


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
