"""Run the collections engine for accounts and carry out what is due: notices, work orders, write-offs.

The account's engine state is loaded in bulk (one query per table for a whole batch of accounts),
the engine decides, and each due action is recorded (row + outbox event + action log) in the
caller's unit of work, then the state's outcome is written back to the account row.
"""
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_collections.adapters import models
from cis_collections.adapters.reference_data import collections_policy, cpi_series, district_calendar
from cis_collections.domain import engine
from cis_collections.domain.engine import (AccountState, Appeal, Bill, ContactAttempt, Extension, Installment,
                                           MedicalCertification, PaymentPlan, ShutoffNoticeRecord)
from cis_collections.domain.model import next_identifier
from cis_collections.domain.shutoff_guard import forbidden_reasons

NOTICE_REQUESTED = "collections.notice_requested.v1"
COLLECTION_NOTICE_REQUESTED = "collections.collection_notice_requested.v1"
SHUTOFF_ORDERED = "collections.shutoff_ordered.v1"
RECONNECT_ORDERED = "collections.reconnect_ordered.v1"
NOTICE_POSTING_ORDERED = "collections.notice_posting_ordered.v1"
LATE_PENALTY_REQUESTED = "collections.late_penalty_requested.v1"
# How each notice leaves: a printed letter through the mail house, or a door hanger field staff post
# (printed too, then a work order). The plan-default final notice is mailed and, by its own action
# (engine.FINAL_NOTICE_POSTING), posted.
COLLECTION_NOTICES = {engine.SHUTOFF_NOTICE: "mail", engine.OCCUPANT_NOTICE: "mail", engine.TENANT_NOTICE: "mail",
                      engine.FORTY_EIGHT_HOUR_NOTICE: "post_at_premises", engine.PLAN_DEFAULT_FINAL_NOTICE: "mail"}
STAFF_TASKS = (engine.CONTACT_ATTEMPT,)  # on the worklist; their outcome comes back through an RPC

# The state fields kept as columns on collection_accounts.
ACCOUNT_DATES = ("tenant_notice_requested_on", "tenant_notice_on", "door_hanger_ordered_on",
                 "forty_eight_hour_notice_on", "final_notice_requested_on", "final_notice_mailed_on",
                 "final_notice_posting_ordered_on", "final_notice_posted_on", "shutoff_ordered_on",
                 "reconnect_ordered_on", "last_interest_waiver_on", "last_monthly_penalty_on")


@dataclass
class Outcome:
    reminders: int = 0
    notices: int = 0
    work_orders: int = 0
    actions: int = 0  # every action carried out (the daily run's actions_taken)
    # a shutoff the statutory guard refused to order: {"account_id", "reason"}, reported with the run's
    # failed accounts for staff to look at
    shutoff_held: dict | None = None


log = logging.getLogger(__name__)
SHUTOFF_HELD = "shutoff_held"  # the action log's kind for a shutoff the guard refused


class Batch:
    """What acting on many accounts shares: identifiers fetched from the sequence a block at a time and
    events buffered per contract, emitted together (one outbox insert each) by `emit_all`.
    Without it every notice costs a sequence round trip, an autoflush and an outbox insert."""

    ID_BLOCK = 500

    def __init__(self, uow):
        self.uow = uow
        self.session = uow.session
        self._ids: list[int] = []
        self._events: dict[str, list[dict]] = {}

    def next_id(self, prefix: str) -> str:
        if not self._ids:
            self._ids = list(self.uow.session.scalars(
                sa.text("select nextval('collections_ids') from generate_series(1, :n)"), {"n": self.ID_BLOCK}))
            self._ids.reverse()
        return next_identifier(prefix, self._ids.pop())

    def emit(self, message_name: str, payload: dict) -> None:
        self._events.setdefault(message_name, []).append(payload)

    def mark(self) -> dict[str, int]:
        """Where the buffered events stand, so one account's events can be dropped with its savepoint."""
        return {name: len(payloads) for name, payloads in self._events.items()}

    def drop_since(self, mark: dict[str, int]) -> None:
        for name, payloads in self._events.items():
            del payloads[mark.get(name, 0):]

    def emit_all(self) -> None:
        for message_name, payloads in self._events.items():
            self.uow.emit_many(message_name, payloads)
        self._events.clear()


# --- loading ---------------------------------------------------------------------------------------

def load_states(uow, accounts: list[models.CollectionAccount],
                receivables: dict[str, list[models.Receivable]],
                failures: dict[str, Exception] | None = None) -> dict[str, AccountState]:
    """Every account's engine state; with `failures`, an account whose rows cannot make a state is put
    there (by account id) instead of failing the whole batch."""
    ids = [a.account_id for a in accounts]
    by_account = {name: _grouped(uow, table, ids) for name, table in (
        ("appeals", models.Appeal), ("extensions", models.Extension), ("attempts", models.ContactAttempt))}
    medical = {m.account_id: m for m in _rows(uow, models.MedicalCertification, ids)}
    plans = _active_plans(uow, ids)
    notice_ids = [a.shutoff_notice_id for a in accounts if a.shutoff_notice_id]
    notices = {n.notice_id: n for n in uow.session.scalars(
        sa.select(models.Notice).where(models.Notice.notice_id.in_(notice_ids)))} if notice_ids else {}
    states = {}
    for a in accounts:
        try:
            states[a.account_id] = _state(a, receivables.get(a.account_id, []), by_account, medical, plans, notices)
        except Exception as exc:  # noqa: BLE001 - one account's data must not stop the others (the daily run)
            if failures is None:
                raise
            failures[a.account_id] = exc
    return states


def _state(row, bill_rows, by_account, medical, plans, notices) -> AccountState:
    account_id = row.account_id
    cert = medical.get(account_id)
    notice = notices.get(row.shutoff_notice_id)
    return AccountState(
        account_id=account_id, customer_name=row.customer_name or "", mailing_address=row.mailing_address or "",
        service_address=row.service_address or "", residential=row.residential, low_income=row.low_income,
        landlord_of_record=row.landlord_of_record or row.tenant_occupied, financially_unable=row.financially_unable,
        bills=[Bill(r.bill_id, Decimal(r.amount), r.issued_on, r.due_on, Decimal(r.paid), r.final,
                    r.past_due_notice_id is not None or r.adjustment, r.written_off_on is not None, r.adjustment,
                    r.delivered_on)
               for r in bill_rows],
        closed_on=row.closed_on,
        payment_plan=plans.get(account_id),
        appeals=[Appeal(a.filed_on, a.resolved_on) for a in by_account["appeals"].get(account_id, [])],
        extensions=[Extension(e.granted_on, e.until) for e in by_account["extensions"].get(account_id, [])],
        medical_certification=MedicalCertification(cert.certified_on, cert.expires_on) if cert else None,
        contact_attempts=[ContactAttempt(c.attempted_on, c.reached_adult)
                          for c in by_account["attempts"].get(account_id, [])],
        shutoff_notice=ShutoffNoticeRecord(notice.notice_id, notice.requested_on, row.shutoff_notice_mailed_on,
                                           notice.shutoff_on, Decimal(notice.amount_past_due),
                                           tuple(notice.bill_ids), row.occupant_copy_requested,
                                           row.occupant_copy_on) if notice else None,
        **{name: getattr(row, name) for name in ACCOUNT_DATES})


def _rows(uow, table, ids):
    return uow.session.scalars(sa.select(table).where(table.account_id.in_(ids))) if ids else []


def _grouped(uow, table, ids) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for row in _rows(uow, table, ids):
        grouped.setdefault(row.account_id, []).append(row)
    return grouped


def _active_plans(uow, ids) -> dict[str, PaymentPlan]:
    if not ids:
        return {}
    rows = uow.session.execute(
        sa.select(models.PaymentPlan, models.PlanInstallment)
        .join(models.PlanInstallment, models.PlanInstallment.plan_id == models.PaymentPlan.plan_id)
        .where(models.PaymentPlan.account_id.in_(ids), models.PaymentPlan.active)
        .order_by(models.PlanInstallment.plan_id, models.PlanInstallment.seq)).all()
    plans: dict[str, PaymentPlan] = {}
    for plan, installment in rows:
        domain_plan = plans.setdefault(plan.account_id, PaymentPlan(plan.plan_id, plan.agreed_on, []))
        domain_plan.installments.append(Installment(installment.due_on, Decimal(installment.amount),
                                                    Decimal(installment.paid)))
    return plans


# --- deciding and acting ---------------------------------------------------------------------------

def decide(state: AccountState, today: date) -> engine.Decision:
    return engine.decide(state, today, district_calendar(), collections_policy())


def actions_to_take(state: AccountState, today: date, kinds: tuple[str, ...] | None = None) -> list[engine.Action]:
    """The actions due today the service carries out itself (staff tasks are on the worklist), optionally
    only those of `kinds`."""
    return [a for a in decide(state, today).due_actions(today)
            if a.kind not in STAFF_TASKS and (kinds is None or a.kind in kinds)]


def act(batch: Batch, row: models.CollectionAccount, bill_rows: list[models.Receivable], state: AccountState,
        today: date, actions: list[engine.Action] | None = None) -> Outcome:
    """Carry out `actions` (default: every action due today) for one account, then write the state back to its
    row. The caller emits the batch's events (`batch.emit_all()`) once it has acted on all its accounts."""
    outcome = Outcome()
    for action in actions_to_take(state, today) if actions is None else actions:
        if action.kind == engine.SHUTOFF and (reasons := forbidden_reasons(state, today, district_calendar(),
                                                                           collections_policy())):
            _hold_shutoff(batch, row, action, today, reasons, outcome)
            continue
        reference = _carry_out(batch, row, bill_rows, state, action, today, outcome)
        engine.record_done(state, action, today, reference or "")
        batch.session.add(models.CollectionAction(account_id=row.account_id, business_date=today, kind=action.kind,
                                                rule_code=action.rule.code, citation=action.rule.citation,
                                                reference=reference, reason=action.detail.get("reason")))
        outcome.actions += 1
    write_back(row, bill_rows, state, today)
    return outcome


def _hold_shutoff(batch, row, action, today, reasons: list[str], outcome: Outcome) -> None:
    """The engine planned a shutoff the statutes forbid today (shutoff_guard): nothing is ordered, the
    reasons go in the action log, and the engine proposes it again on a later day, checked again."""
    reason = "shutoff held by the statutory guard: " + "; ".join(reasons)
    outcome.shutoff_held = {"account_id": row.account_id, "reason": reason}
    log.error("account %s: %s", row.account_id, reason)
    batch.session.add(models.CollectionAction(account_id=row.account_id, business_date=today, kind=SHUTOFF_HELD,
                                            rule_code=action.rule.code, citation=action.rule.citation,
                                            reference=None, reason=reason))


def _carry_out(batch, row, bill_rows, state, action, today, outcome) -> str | None:
    kind = action.kind
    if kind == engine.PAST_DUE_REMINDER:
        outcome.reminders += 1
        return _past_due_notice(batch, row.account_id, action, bill_rows, today)
    if kind in COLLECTION_NOTICES:
        outcome.notices += 1
        notice_id = _collection_notice(batch, row, state, action, today)
        if kind == engine.FORTY_EIGHT_HOUR_NOTICE:
            _posting_order(batch, row, state, action, today, notice_id)
        return notice_id
    if kind == engine.LATE_PENALTY:
        return _late_penalty_request(batch, row, action, today)
    if kind == engine.FINAL_NOTICE_POSTING:
        outcome.work_orders += 1
        return _posting_order(batch, row, state, action, today, None)
    if kind == engine.SHUTOFF:
        outcome.work_orders += 1
        return _shutoff_order(batch, row, state, action, today)
    if kind == engine.RECONNECT:
        outcome.work_orders += 1
        return _reconnect_order(batch, row, state, action, today)
    if kind == engine.VOID_NOTICE:
        return action.detail["notice_id"]  # the void notice, its reason in the action log
    return None  # write-off: recorded in the state and the action log


def _past_due_notice(batch, account_id, action, bill_rows, today) -> str:
    """The reminder keeps its v1 contract (collections.notice_requested.v1)."""
    detail = action.detail
    notice = models.Notice(notice_id=_next_id(batch, "N"), account_id=account_id, kind="past_due", requested_on=today,
                           amount_past_due=detail["amount_past_due"], bill_ids=list(detail["bill_ids"]),
                           oldest_due_on=detail["oldest_due_on"], rule_code=action.rule.code)
    batch.session.add(notice)
    batch.emit(NOTICE_REQUESTED, {
        "notice_id": notice.notice_id, "account_id": account_id, "kind": "past_due",
        "amount_past_due": notice.amount_past_due, "bill_ids": notice.bill_ids,
        "oldest_due_on": notice.oldest_due_on, "requested_on": today})
    for bill_row in bill_rows:
        if bill_row.bill_id in detail["bill_ids"]:
            bill_row.past_due_notice_id = notice.notice_id
    return notice.notice_id


def _collection_notice(batch, row, state, action, today) -> str:
    policy, detail = collections_policy(), action.detail
    past_due = [b for b in state.bills if b.past_due(today)]
    amount = sum((b.unpaid for b in past_due), Decimal("0.00"))
    shutoff_on = detail.get("shutoff_on")
    notice = models.Notice(notice_id=_next_id(batch, "N"), account_id=row.account_id, kind=action.kind,
                           requested_on=today, amount_past_due=amount,
                           bill_ids=list(detail.get("bill_ids") or [b.bill_id for b in past_due]),
                           oldest_due_on=min(b.due_on for b in past_due), shutoff_on=shutoff_on,
                           rule_code=action.rule.code)
    batch.session.add(notice)
    if action.kind == engine.SHUTOFF_NOTICE:
        row.shutoff_notice_id = notice.notice_id
    content = detail.get("content") or {}
    batch.emit(COLLECTION_NOTICE_REQUESTED, {
        "notice_id": notice.notice_id, "account_id": row.account_id, "kind": action.kind,
        "delivery": COLLECTION_NOTICES[action.kind], "addressee": _addressee(row, action.kind),
        "address": _address(row, action.kind), "amount_delinquent": amount, "shutoff_on": shutoff_on,
        "pay_or_arrange_by": content.get("pay_or_arrange_by"),
        "extension_process": policy.extension_process, "bill_review_process": policy.bill_review_process,
        "alternative_payment_process": policy.alternative_payment_process, "policy_url": policy.policy_url,
        "phone": policy.phone, "may_become_customer_without_arrears": action.kind == engine.TENANT_NOTICE,
        "rule": _rule(action.rule), "requested_on": today})
    return notice.notice_id


def _late_penalty_request(batch, row, action, today) -> str | None:
    """Ask billing for the penalty; its request_id makes a repeat (a re-run of the day) a no-op."""
    detail = action.detail
    request_id = (f"LP-{detail['bill_id']}-basic" if detail["kind"] == "basic"
                  else f"LP-{row.account_id}-{today:%Y-%m}")
    if batch.session.get(models.LatePenaltyRequest, request_id) is not None:
        return None
    batch.session.add(models.LatePenaltyRequest(request_id=request_id, account_id=row.account_id,
                                                bill_id=detail["bill_id"], kind=detail["kind"], assessed_on=today,
                                                waive_interest=detail["waive_interest"]))
    batch.emit(LATE_PENALTY_REQUESTED, {
        "request_id": request_id, "account_id": row.account_id, "bill_id": detail["bill_id"], "kind": detail["kind"],
        "assessed_on": today, "current_charges": detail["current_charges"], "past_due": detail["past_due"],
        "months": 1, "waive_interest": detail["waive_interest"], "rule": action.rule.citation})
    return request_id


def _posting_order(batch, row, state, action, today, notice_id) -> str:
    """A field work order to post the notice at the premises; the posting date comes back from operations."""
    order_id = _next_id(batch, "W")
    batch.session.add(models.WorkOrder(order_id=order_id, account_id=row.account_id, kind="post_notice",
                                       ordered_on=today, residential=row.residential, for_nonpayment=True,
                                       notice_kind=action.kind, notice_id=notice_id))
    batch.emit(NOTICE_POSTING_ORDERED, {
        "order_id": order_id, "account_id": row.account_id, "notice_kind": action.kind, "notice_id": notice_id,
        "service_address": _address(row, engine.OCCUPANT_NOTICE), "work": "post_notice_at_premises",
        "post_on": max(action.on, today), "shutoff_on": action.detail.get("shutoff_on"),
        "rule": _rule(action.rule), "ordered_on": today})
    return order_id


def _addressee(row, kind: str) -> str:
    if kind == engine.OCCUPANT_NOTICE:
        return "Occupant"
    if kind == engine.TENANT_NOTICE:
        return "Residential occupants"
    return row.customer_name or f"Customer of account {row.account_id}"


def _address(row, kind: str) -> str:
    at_premises = kind in (engine.OCCUPANT_NOTICE, engine.TENANT_NOTICE, engine.FORTY_EIGHT_HOUR_NOTICE,
                           engine.PLAN_DEFAULT_FINAL_NOTICE)
    if at_premises:
        address = row.service_address
    elif row.closed_on is not None:  # a moved-out customer's notices go to the forwarding address
        address = row.forwarding_address or row.mailing_address or row.service_address
    else:
        address = row.mailing_address or row.service_address
    return address or "address on file"


def _shutoff_order(batch, row, state, action, today) -> str:
    order_id = _next_id(batch, "W")
    batch.session.add(models.WorkOrder(order_id=order_id, account_id=row.account_id, kind="shutoff", ordered_on=today,
                                     residential=row.residential, for_nonpayment=True))
    row.shutoff_order_id = order_id
    batch.emit(SHUTOFF_ORDERED, {
        "order_id": order_id, "account_id": row.account_id, "service_address": _address(row, engine.OCCUPANT_NOTICE),
        "apn": row.apn, "work": "seal_and_lock_meter", "scheduled_on": max(action.on, today),
        "amount_delinquent": action.detail["amount"], "notice_id": action.detail.get("notice_id"),
        "rule": _rule(action.rule), "ordered_on": today})
    return order_id


def _reconnect_order(batch, row, state, action, today) -> str:
    policy, cpi = collections_policy(), cpi_series()
    order_id = _next_id(batch, "W")
    fees = {"fee_normal_hours": engine.reconnection_fee(policy, state.low_income, False, today.year, cpi),
            "fee_after_hours": engine.reconnection_fee(policy, state.low_income, True, today.year, cpi)}
    batch.session.add(models.WorkOrder(order_id=order_id, account_id=row.account_id, kind="reconnect",
                                     ordered_on=today, residential=row.residential, for_nonpayment=False,
                                     shutoff_order_id=row.shutoff_order_id, **fees))
    batch.emit(RECONNECT_ORDERED, {
        "order_id": order_id, "account_id": row.account_id, "service_address": _address(row, engine.OCCUPANT_NOTICE),
        "work": "unseal_meter", "shutoff_order_id": row.shutoff_order_id or "", "reason": action.detail["reason"],
        "reconnection_fee_normal_hours": fees["fee_normal_hours"],
        "reconnection_fee_after_hours": fees["fee_after_hours"], "rule": _rule(action.rule), "ordered_on": today})
    return order_id


def write_back(row, bill_rows, state: AccountState, today: date) -> None:
    for name in ACCOUNT_DATES:
        setattr(row, name, getattr(state, name))
    notice = state.shutoff_notice
    row.shutoff_notice_mailed_on = notice.mailed_on if notice else None
    row.occupant_copy_requested = notice.occupant_copy_requested if notice else False
    row.occupant_copy_on = notice.occupant_copy_on if notice else None
    if notice is None:
        row.shutoff_notice_id = None
    written_off = {b.bill_id for b in state.bills if b.written_off}
    for bill_row in bill_rows:
        if bill_row.bill_id in written_off and bill_row.written_off_on is None:
            bill_row.written_off_on = today


def _rule(rule) -> dict:
    return {"code": rule.code, "citation": rule.citation}


def _next_id(batch: Batch, prefix: str) -> str:
    return batch.next_id(prefix)


# --- views -----------------------------------------------------------------------------------------

def status_view(account_id: str, state: AccountState, today: date) -> dict:
    decision = decide(state, today)
    scheduled = [{"kind": a.kind, "on": a.on, "rule": _rule(a.rule)} for a in decision.actions]
    return {"account_id": account_id, "business_date": today, "status": decision.status,
            "past_due_amount": decision.past_due_amount, "oldest_due_on": decision.oldest_due_on,
            "disconnected": state.disconnected, "shutoff_on": decision.shutoff_on,
            "shutoff_set_by": [_rule(r) for r in decision.shutoff_set_by],
            "due_today": [s for s in scheduled if s["on"] <= today],
            "upcoming": sorted((s for s in scheduled if s["on"] > today), key=lambda s: s["on"]),
            "blocked_by": [{"rule": _rule(b.rule), "detail": b.detail, "until": b.until} for b in decision.blocks]}


def worklist_entry(row, state: AccountState, day: date) -> dict:
    """One account on the staff worklist: what is due and why, what blocks a shutoff."""
    decision = decide(state, day)
    return {"account_id": row.account_id, "customer_name": row.customer_name or "",
            "service_address": row.service_address or "", "past_due_amount": decision.past_due_amount,
            "disconnected": state.disconnected, "shutoff_on": decision.shutoff_on,
            "shutoff_set_by": [_rule(r) for r in decision.shutoff_set_by],
            "due": [{"kind": a.kind, "on": a.on, "rule": _rule(a.rule), "why": a.rule.summary}
                    for a in sorted(decision.due_actions(day), key=lambda a: (a.on, a.kind))],
            "blocked_by": [{"rule": _rule(b.rule), "detail": b.detail, "until": b.until} for b in decision.blocks]}
