"""Collections use cases. Each runs in one unit of work: state, events and inbox commit together."""
import logging
from datetime import date
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_collections.adapters import models
from cis_collections.adapters.reference_data import collections_policy, district_calendar
from cis_collections.domain import engine, rules, windows
from cis_collections.domain.ledger import LedgerPosition, stale_reason
from cis_collections.domain.model import (CURRENT, DELINQUENT, ZERO, AccountView, Receivable, apply_payment, assess,
                                          next_identifier)
from cis_collections.service_layer import parcels, timeline
from cis_contracts.registry import validate
from cis_runtime.clock import DISTRICT_ZONE  # a field report's day is the District's local day
from cis_runtime.errors import InvalidInput, InvalidMessage, NotFound

FEE_ASSESSED = "collections.fee_assessed.v1"
WORK_ORDER_CANCELLED = "collections.work_order_cancelled.v1"
LEDGER_POSITIONS = "billing.ledger_positions.v1"
RESIDENTIAL_CLASSES = ("residential", "multi_family")
ENGINE_BATCH = 2000  # accounts whose state is loaded together (bounded IN lists, bounded memory)
DEFERRED_LISTED = 100  # deferred accounts named in a run's answer (all are counted)
DAILY_RUN_LOCK = 0x636F6C6C  # pg advisory lock: one daily run at a time (any number a day)
# Restoring service waits for nothing: a stale view can only make it later, never wrong for the customer.
# Every other action (money, notices, shutoff, write-off) is taken only on a view billing shows is current.
TAKEN_ON_ANY_VIEW = (engine.RECONNECT,)

# billing.ledger_positions: request {"account_ids": [...]} -> billing.ledger_positions.v1 (service.py gives it)
LedgerPositionsPort = Callable[[dict], dict]

log = logging.getLogger(__name__)


# --- consumed events ---------------------------------------------------------------------------

def record_bill(uow, bill: dict) -> None:
    """A bill was issued: it becomes an open receivable (credit on the account pays it first)."""
    account = _locked_account(uow, bill["account_id"])
    if uow.session.get(models.Receivable, bill["bill_id"]):
        return  # the same bill announced twice (a re-published event): already known
    owed = max(bill["total"], ZERO)
    delivery = uow.session.get(models.BillDelivery, bill["bill_id"])  # notifications may have reported it first
    row = models.Receivable(bill_id=bill["bill_id"], account_id=account.account_id, amount=owed, paid=ZERO,
                            issued_on=bill["issued_on"], due_on=bill["due_on"],
                            delivered_on=delivery.delivered_on if delivery else None)
    uow.session.add(row)
    receivable = _domain_receivable(row)
    available_credit = account.credit + max(-bill["total"], ZERO)  # a credit bill adds to the credit
    _, account.credit = apply_payment([receivable], available_credit)
    row.paid = receivable.paid


def record_payment(uow, payment: dict) -> None:
    """Apply a payment oldest bill first; once nothing is past due, the delinquency is cleared."""
    account = _locked_account(uow, payment["account_id"])
    if uow.session.get(models.Payment, payment["payment_id"]):
        return
    uow.session.add(models.Payment(payment_id=payment["payment_id"], account_id=account.account_id,
                                   amount=payment["amount"], received_on=payment["received_on"]))
    _pay_plan_installments(uow, account.account_id, payment["amount"])
    _apply_credit(uow, account, payment["amount"])


def record_adjustment(uow, adjustment: dict) -> None:
    """Billing posted an adjustment: a charge (a late penalty, a fee, a staff debit) is owed from the day it is
    posted; a credit pays the open bills like a payment (it pays no plan installment)."""
    account = _locked_account(uow, adjustment["account_id"])
    if uow.session.get(models.Adjustment, adjustment["adjustment_id"]):
        return
    uow.session.add(models.Adjustment(adjustment_id=adjustment["adjustment_id"], account_id=account.account_id,
                                      kind=adjustment["kind"], amount=adjustment["amount"],
                                      posted_on=adjustment["posted_on"], reference=adjustment["reference"]))
    if adjustment["amount"] < 0:
        _apply_credit(uow, account, -adjustment["amount"])
        return
    if adjustment["kind"] == "fee":
        _fee_posted(uow, adjustment)
    row = models.Receivable(bill_id=adjustment["adjustment_id"], account_id=account.account_id,
                            amount=adjustment["amount"], paid=ZERO, issued_on=adjustment["posted_on"],
                            due_on=adjustment["posted_on"], adjustment=True, delivered_on=adjustment["posted_on"])
    uow.session.add(row)
    receivable = _domain_receivable(row)
    _, account.credit = apply_payment([receivable], account.credit)
    row.paid = receivable.paid


def _fee_posted(uow, adjustment: dict) -> None:
    """Billing posted a fee collections assessed (reference = its request_id): the order shows it charged.
    Like any charge it is owed from the day posted but, as an adjustment, never starts a shutoff clock."""
    order = uow.session.scalar(sa.select(models.WorkOrder).where(
        models.WorkOrder.fee_request_id == adjustment["reference"]))
    if order is not None:
        order.fee_adjustment_id = adjustment["adjustment_id"]


def _apply_credit(uow, account: models.CollectionAccount, amount) -> None:
    rows = _open_receivables(uow, [account.account_id]).get(account.account_id, [])
    view = _view(account, rows)
    _, leftover = apply_payment(view.receivables, amount)
    _write_back(view, rows)
    account.credit += leftover
    if account.status == DELINQUENT and assess(view, uow.today()).past_due_amount == 0:
        _clear_delinquency(account, uow.today())
    # A payment can call off today's shutoff or restore service at once (H&S 116912; Gov. Code 60375).
    if account.shutoff_ordered_on is not None and account.reconnect_ordered_on is None:
        _reconnect_if_due(uow, account, rows, uow.today())


def _pay_plan_installments(uow, account_id: str, amount) -> None:
    """A payment on an account with a plan counts toward its installments, oldest first."""
    installments = uow.session.scalars(
        sa.select(models.PlanInstallment).join(models.PaymentPlan)
        .where(models.PaymentPlan.account_id == account_id, models.PaymentPlan.active,
               models.PlanInstallment.paid < models.PlanInstallment.amount)
        .order_by(models.PlanInstallment.seq)).all()
    remaining = amount
    for installment in installments:
        portion = min(installment.amount - installment.paid, remaining)
        installment.paid += portion
        remaining -= portion
        if remaining <= 0:
            break


def record_account_opened(uow, opened: dict) -> None:
    """The facts the shutoff rules need: names, addresses (Occupant copy), APN and owner (liens), and
    whether the owner is the customer of a multi-unit property others live in (tenant notices, H&S 116916)."""
    account = _locked_account(uow, opened["account_id"])
    mailing, service = _one_line(opened["mailing_address"]), _one_line(opened["service_address"])
    account.customer_name, account.mailing_address, account.service_address = (
        opened["customer_name"], mailing, service)
    account.apn, account.owner_of_record = opened["apn"], opened["owner_of_record"]
    account.residential = opened["customer_class"] in RESIDENTIAL_CLASSES
    owner_is_customer = opened["owner_of_record"].strip().lower() == opened["customer_name"].strip().lower()
    # A different mailing address alone (a PO box) does not mean tenants live there; a landlord of a
    # single-family rental has to be flagged by staff (next step).
    account.landlord_of_record = owner_is_customer and opened["dwelling_units"] > 1


def record_bill_delivered(uow, delivered: dict) -> None:
    """Notifications delivered a bill (mailed, or emailed to a paperless customer): its clocks may start, from
    that day (Gov. Code 60373(a)). The earliest delivery counts; it may come before the bill itself."""
    _locked_account(uow, delivered["account_id"])  # one at a time with the bill's own event
    day = delivered["delivered_on"]
    known = uow.session.get(models.BillDelivery, delivered["bill_id"])
    if known is None:
        uow.session.add(models.BillDelivery(bill_id=delivered["bill_id"], account_id=delivered["account_id"],
                                            channel=delivered["channel"], delivered_on=day))
    elif day < known.delivered_on:
        known.delivered_on, known.channel = day, delivered["channel"]
    receivable = uow.session.get(models.Receivable, delivered["bill_id"])
    if receivable is not None and receivable.account_id != delivered["account_id"]:
        raise InvalidMessage(f"bill {delivered['bill_id']} is not account {delivered['account_id']}'s")
    if receivable is not None and (receivable.delivered_on is None or day < receivable.delivered_on):
        receivable.delivered_on = day


def record_account_closed(uow, closed: dict) -> None:
    """The account closed (moved out): none of its bills is pursued by shutoff any more, its balance follows the
    final-bill path and its notices go to the forwarding address. A shutoff planned or ordered is cancelled."""
    account = _locked_account(uow, closed["account_id"])
    if account.closed_on is not None:
        return
    account.closed_on = closed["closed_on"]
    forwarding = closed.get("forwarding_address")
    account.forwarding_address = _one_line(forwarding) if forwarding else None
    reason = (f"account closed {closed['closed_on']} ({closed['reason']}): a closed account is never shut off, "
              f"the connection may serve a new customer; the balance follows the final-bill path")
    rule = rules.CLOSED_ACCOUNT_FINAL_BILL_PATH
    pending = list(uow.session.scalars(sa.select(models.WorkOrder).where(
        models.WorkOrder.account_id == account.account_id, models.WorkOrder.status == "ordered",
        models.WorkOrder.kind.in_(("shutoff", "post_notice"))).order_by(models.WorkOrder.order_id)))
    for order in pending:
        order.status = "cancelled"
        uow.emit(WORK_ORDER_CANCELLED, {"order_id": order.order_id, "account_id": order.account_id,
                                        "kind": order.kind, "reason": reason, "cancelled_on": uow.today(),
                                        "rule": {"code": rule.code, "citation": rule.citation}})
        _log(uow, account.account_id, f"{order.kind}_cancelled", rule, order.order_id, reason=reason)
    shutoff_pending = any(o.order_id == account.shutoff_order_id for o in pending if o.kind == "shutoff")
    if shutoff_pending:
        account.shutoff_order_id = None
    planned_notice = account.shutoff_notice_id
    if _change_state(uow, account.account_id, lambda state: engine.record_closed(state, shutoff_pending)):
        _log(uow, account.account_id, "shutoff_plan_cancelled", rule, planned_notice, reason=reason)


def _one_line(address: dict) -> str:
    parts = [address["line1"], address.get("line2"), address["city"],
             f"{address.get('state') or 'CA'} {address['zip']}"]
    return ", ".join(p for p in parts if p)


# --- daily run ---------------------------------------------------------------------------------

def run_daily(uow, ledger_positions: LedgerPositionsPort) -> dict:
    """Assess every account with open receivables and take the actions due. Any number of runs a business
    date (after a payment or a returned check): each action is taken once, by its own key (a bill's reminder,
    a penalty's request id, the notice or work order the account's state records, a bill's write-off).

    Runs one at a time (an advisory lock). An account is acted on only when billing's ledger position shows
    collections' view of it current (`ledger_positions`, one call per batch); otherwise it is deferred. An
    account whose data breaks the engine is reported in accounts_failed, its savepoint rolled back.
    """
    today = uow.today()
    uow.session.execute(sa.select(sa.func.pg_advisory_xact_lock(DAILY_RUN_LOCK)))
    run_number = (uow.session.scalar(sa.select(sa.func.max(models.DailyRun.run_number))
                                     .where(models.DailyRun.business_date == today)) or 0) + 1
    # An account whose open bills are not yet due has nothing to decide: it is counted, not loaded.
    run = models.DailyRun(business_date=today, run_number=run_number, newly_delinquent=0, notices_requested=0,
                          actions_taken=0, accounts_deferred=0, deferred=[], accounts_failed=[],
                          accounts_assessed=uow.session.scalar(sa.select(sa.func.count()).select_from(
                              _accounts_to_assess_query(today=None).subquery())))
    accounts = list(uow.session.scalars(_accounts_to_assess_query(today).with_for_update()))
    billing = _OnceUnreachable(ledger_positions)
    for start in range(0, len(accounts), ENGINE_BATCH):
        batch = accounts[start:start + ENGINE_BATCH]
        receivables = _open_receivables(uow, [a.account_id for a in batch])
        for account in batch:
            run.newly_delinquent += _assess_account(uow, account, receivables.get(account.account_id, []), today)
        _act_on_batch(uow, batch, receivables, today, billing, run)
        uow.session.flush()
    parcels.release_paid_liens(uow)
    uow.session.add(run)
    uow.commit()
    return daily_run_view(run)


def _assess_account(uow, account, rows: list, today: date) -> int:
    """Keep the delinquency status (account_status.v1) current; return 1 when newly delinquent."""
    assessment = assess(_view(account, rows), today)
    if assessment.status == DELINQUENT and account.status != DELINQUENT:
        account.status, account.delinquent_since, account.cleared_on = DELINQUENT, today, None
        return 1
    if assessment.status == CURRENT and account.status == DELINQUENT:
        _clear_delinquency(account, today)
    return 0


def _act_on_batch(uow, accounts: list, receivables: dict, today: date, ledger_positions: LedgerPositionsPort,
                  run: models.DailyRun) -> None:
    """Decide for a batch of accounts, check the views of those with actions due against billing, and act.
    The batch acts in one savepoint (one flush); should it fail, it is rolled back and acted on again account by
    account, each in a savepoint of its own, so a failure rolls back only the account that caused it."""
    failures: dict[str, Exception] = {}
    states = timeline.load_states(uow, accounts, receivables, failures)
    due = _due_actions(states, today, failures)
    stale = _stale_views(uow, [a for a in accounts if _needs_current_view(due.get(a.account_id, []))],
                         receivables, ledger_positions)
    for account_id in sorted(set(due) & set(stale)):
        _defer(run, account_id, stale[account_id])
    planned = [a for a in accounts if _allowed(due.get(a.account_id, []), a.account_id in stale)]
    batch = timeline.Batch(uow)
    with uow.session.no_autoflush:  # the batch's rows go in with one flush, not one per notice
        try:
            with uow.session.begin_nested():
                outcomes = [timeline.act(batch, account, receivables.get(account.account_id, []),
                                         states[account.account_id], today,
                                         _allowed(due[account.account_id], account.account_id in stale))
                            for account in planned]
        except Exception:  # noqa: BLE001 - find the account: act again one savepoint per account
            batch.drop_since({})
            outcomes = _act_one_by_one(uow, batch, planned, receivables, today, stale, failures)
    for outcome in outcomes:
        run.notices_requested += outcome.reminders
        run.actions_taken += outcome.actions
        if outcome.shutoff_held:
            run.accounts_failed = [*run.accounts_failed, outcome.shutoff_held]
    batch.emit_all()
    for account_id, exc in sorted(failures.items()):
        log.error("daily run: account %s failed: %s", account_id, _failure_reason(exc))
        run.accounts_failed = [*run.accounts_failed, {"account_id": account_id, "reason": _failure_reason(exc)}]


def _due_actions(states: dict, today: date, failures: dict) -> dict[str, list[engine.Action]]:
    due = {}
    for account_id, state in states.items():
        try:
            actions = timeline.actions_to_take(state, today)
        except Exception as exc:  # noqa: BLE001 - reported in accounts_failed, the run goes on
            failures[account_id] = exc
            continue
        if actions:
            due[account_id] = actions
    return due


def _allowed(actions: list[engine.Action], stale: bool) -> list[engine.Action]:
    """The actions an account may take: all on a current view, only those needing none on a stale one."""
    return [a for a in actions if a.kind in TAKEN_ON_ANY_VIEW] if stale else actions


def _act_one_by_one(uow, batch, accounts: list, receivables: dict, today: date, stale: dict,
                    failures: dict) -> list[timeline.Outcome]:
    """The batch's savepoint was rolled back (its rows expired, its new rows gone): reload the states and act
    on each account in a savepoint of its own; a failing account is rolled back alone and reported."""
    states = timeline.load_states(uow, accounts, receivables, failures)
    due = _due_actions(states, today, failures)
    outcomes = []
    for account in accounts:
        actions = _allowed(due.get(account.account_id, []), account.account_id in stale)
        if not actions:
            continue
        mark = batch.mark()
        try:
            with uow.session.begin_nested():  # its rows are flushed on leaving: count it only then
                outcome = timeline.act(batch, account, receivables.get(account.account_id, []),
                                       states[account.account_id], today, actions)
        except Exception as exc:  # noqa: BLE001 - only this account's work is rolled back
            batch.drop_since(mark)
            failures[account.account_id] = exc
            continue
        outcomes.append(outcome)
    return outcomes


class _OnceUnreachable:
    """The ledger port for one run: once billing failed to answer, the rest of the run does not wait on it
    again (each call may take the whole RPC timeout)."""

    def __init__(self, ledger_positions: LedgerPositionsPort):
        self._ledger_positions, self._failure = ledger_positions, None

    def __call__(self, request: dict) -> dict:
        if self._failure is not None:
            raise self._failure
        try:
            return self._ledger_positions(request)
        except Exception as exc:
            self._failure = exc
            raise


def _needs_current_view(actions: list[engine.Action]) -> bool:
    return any(a.kind not in TAKEN_ON_ANY_VIEW for a in actions)


def _stale_views(uow, accounts: list, receivables: dict, ledger_positions: LedgerPositionsPort) -> dict[str, str]:
    """Accounts whose view billing does not show current, with the reason: one billing call for them all."""
    if not accounts:
        return {}
    ids = [a.account_id for a in accounts]
    try:
        response = validate(LEDGER_POSITIONS, ledger_positions({"account_ids": ids}))
    except Exception as exc:  # noqa: BLE001 - billing down, slow or wrong: act on no one, the run completes
        log.warning("daily run: billing.ledger_positions failed (%s): %d accounts deferred", exc, len(ids))
        reason = f"billing could not be reached ({type(exc).__name__}): the view cannot be shown current"
        return {account_id: reason for account_id in ids}
    billing = {p["account_id"]: LedgerPosition(p["entries"], p["balance"]) for p in response["positions"]}
    applied = _applied_positions(uow, accounts, receivables)
    reasons = {account_id: stale_reason(applied[account_id], billing.get(account_id)) for account_id in ids}
    return {account_id: reason for account_id, reason in reasons.items() if reason}


def _applied_positions(uow, accounts: list, receivables: dict) -> dict[str, LedgerPosition]:
    """Collections' own position of each account: the billing events it applied (bills, payments, adjustments)
    and the balance they leave (open receivables less unmatched credit). The account rows are locked, so no
    event of these accounts is applied while the run decides."""
    ids = [a.account_id for a in accounts]
    entries = sa.union_all(
        sa.select(models.Receivable.account_id).where(models.Receivable.account_id.in_(ids),
                                                      models.Receivable.adjustment.is_(False)),
        sa.select(models.Payment.account_id).where(models.Payment.account_id.in_(ids)),
        sa.select(models.Adjustment.account_id).where(models.Adjustment.account_id.in_(ids))).subquery()
    counts = dict(uow.session.execute(sa.select(entries.c.account_id, sa.func.count())
                                      .group_by(entries.c.account_id)).all())
    return {a.account_id: LedgerPosition(
        counts.get(a.account_id, 0),
        sum((r.amount - r.paid for r in receivables.get(a.account_id, [])), ZERO) - a.credit) for a in accounts}


def _defer(run: models.DailyRun, account_id: str, reason: str) -> None:
    run.accounts_deferred += 1
    if len(run.deferred) < DEFERRED_LISTED:
        run.deferred = [*run.deferred, {"account_id": account_id, "reason": reason}]


def _failure_reason(exc: Exception) -> str:
    """The exception's type and first line (a database error: the driver's, without the statement and its
    parameters, which may carry personal data)."""
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:300]


def _reconnect_if_due(uow, account, rows: list, today: date) -> None:
    """Outside the daily run only a reconnect is carried out at once; everything else waits for the run."""
    state = timeline.load_states(uow, [account], {account.account_id: rows})[account.account_id]
    actions = timeline.actions_to_take(state, today, kinds=TAKEN_ON_ANY_VIEW)
    if actions:
        batch = timeline.Batch(uow)
        timeline.act(batch, account, rows, state, today, actions)
        batch.emit_all()


# --- queries -----------------------------------------------------------------------------------

def account_status(uow, account_id: str) -> dict:
    account = uow.session.get(models.CollectionAccount, account_id)
    if account is None:  # never billed: nothing can be owed
        return {"account_id": account_id, "status": CURRENT, "past_due_amount": ZERO,
                "delinquent_since": None, "notices_requested": []}
    rows = _open_receivables(uow, [account_id]).get(account_id, [])
    assessment = assess(_view(account, rows), uow.today())
    # v1 lists the past-due reminders only; the shutoff-path notices are in collections_status.
    notices = uow.session.scalars(sa.select(models.Notice).where(models.Notice.account_id == account_id,
                                                                 models.Notice.kind == "past_due")
                                  .order_by(models.Notice.requested_on, models.Notice.notice_id)).all()
    return {"account_id": account_id, "status": account.status,
            "past_due_amount": assessment.past_due_amount, "delinquent_since": account.delinquent_since,
            "notices_requested": [{"notice_id": n.notice_id, "kind": n.kind, "requested_on": n.requested_on,
                                   "amount_past_due": n.amount_past_due} for n in notices]}


def daily_run_view(run: models.DailyRun) -> dict:
    """collections.daily_run.v2 (a superset of v1)."""
    return {"business_date": run.business_date, "run_number": run.run_number,
            "accounts_assessed": run.accounts_assessed, "newly_delinquent": run.newly_delinquent,
            "notices_requested": run.notices_requested, "actions_taken": run.actions_taken,
            "accounts_deferred": run.accounts_deferred, "deferred": run.deferred,
            "accounts_failed": run.accounts_failed}


def has_run_for_today(uow) -> bool:
    return uow.session.scalar(sa.select(sa.exists().where(models.DailyRun.business_date == uow.today())))


# --- helpers -----------------------------------------------------------------------------------

def _locked_account(uow, account_id: str) -> models.CollectionAccount:
    """The account row, created on first sight, locked so its bills and payments change one at a time."""
    uow.session.execute(insert(models.CollectionAccount).values(
        account_id=account_id, status=CURRENT, credit=ZERO).on_conflict_do_nothing())
    return uow.session.get(models.CollectionAccount, account_id, with_for_update=True, populate_existing=True)


def _accounts_to_assess_query(today: date | None):
    """Accounts owing anything (today=None), or those with something to decide on `today`: a bill past
    due, a delinquency to clear, or service shut off (to reconnect)."""
    account, bill = models.CollectionAccount, models.Receivable
    owing = sa.select(bill.account_id).where(bill.paid < bill.amount)
    if today is not None:
        owing = owing.where(bill.due_on < today, bill.written_off_on.is_(None))
    return (sa.select(account)
            .where(sa.or_(account.account_id.in_(owing), account.status == DELINQUENT,
                          sa.and_(account.shutoff_ordered_on.is_not(None), account.reconnect_ordered_on.is_(None))))
            .order_by(account.account_id))


def _open_receivables(uow, account_ids: list[str]) -> dict[str, list[models.Receivable]]:
    by_account: dict[str, list[models.Receivable]] = {}
    if not account_ids:
        return by_account
    rows = uow.session.scalars(sa.select(models.Receivable).where(
        models.Receivable.account_id.in_(account_ids), models.Receivable.paid < models.Receivable.amount))
    for row in rows:
        by_account.setdefault(row.account_id, []).append(row)
    return by_account


def _clear_delinquency(account: models.CollectionAccount, today: date) -> None:
    account.status, account.delinquent_since, account.cleared_on = CURRENT, None, today


def _domain_receivable(row: models.Receivable) -> Receivable:
    return Receivable(bill_id=row.bill_id, amount=Decimal(row.amount), due_on=row.due_on, issued_on=row.issued_on,
                      paid=Decimal(row.paid),  # a posted penalty gets no reminder of its own
                      past_due_noticed=row.past_due_notice_id is not None or bool(row.adjustment))


def _view(account: models.CollectionAccount, rows: list[models.Receivable]) -> AccountView:
    return AccountView(account_id=account.account_id, receivables=[_domain_receivable(r) for r in rows],
                       credit=account.credit, status=account.status, delinquent_since=account.delinquent_since)


def _write_back(view: AccountView, rows: list[models.Receivable]) -> None:
    paid = {r.bill_id: r.paid for r in view.receivables}
    for row in rows:
        row.paid = paid[row.bill_id]


def _next_id(uow, prefix: str) -> str:
    return next_identifier(prefix, uow.session.execute(models.ids.next_value()).scalar())


# --- the collections timeline for staff ------------------------------------------------------------

def collections_status(uow, account_id: str) -> dict:
    """What is due today on the account, why (the rule and its section), what comes next, what blocks it."""
    account = _known_account(uow, account_id)
    rows = _open_receivables(uow, [account_id]).get(account_id, [])
    state = timeline.load_states(uow, [account], {account_id: rows})[account_id]
    return timeline.status_view(account_id, state, uow.today())


def worklist(uow, day: date | None = None) -> dict:
    """Every account's actions due on or before `day` (default: the business date), oldest first."""
    day = day or uow.today()
    accounts = list(uow.session.scalars(_accounts_to_assess_query(day)))
    receivables = _open_receivables(uow, [a.account_id for a in accounts])
    states = timeline.load_states(uow, accounts, receivables)
    items = [{"account_id": account.account_id, "kind": action.kind, "on": action.on,
              "rule": {"code": action.rule.code, "citation": action.rule.citation}}
             for account in accounts for action in timeline.decide(states[account.account_id], day).due_actions(day)]
    return {"business_date": day, "items": sorted(items, key=lambda i: (i["on"], i["account_id"], i["kind"]))}


def worklist_by_account(uow, day: date | None = None) -> dict:
    """The staff worklist by account: what is due on or before `day` and why, and what blocks a shutoff.
    Accounts with something due come first (oldest due first), then those held by a block."""
    day = day or uow.today()
    accounts = list(uow.session.scalars(_accounts_to_assess_query(day)))
    receivables = _open_receivables(uow, [a.account_id for a in accounts])
    states = timeline.load_states(uow, accounts, receivables)
    entries = [timeline.worklist_entry(account, states[account.account_id], day) for account in accounts]
    entries = [e for e in entries if e["due"] or e["blocked_by"]]
    entries.sort(key=lambda e: (not e["due"], min((a["on"] for a in e["due"]), default=day), e["account_id"]))
    return {"business_date": day, "accounts": entries}


def record_appeal(uow, request: dict) -> dict:
    """File a dispute or appeal (no shutoff while it is pending), or resolve the pending ones with resolved_on.
    A dispute is in time only within the Gov. Code 60372(c) window after the bill."""
    account = _known_account(uow, request["account_id"], lock=True)
    pending = uow.session.scalars(sa.select(models.Appeal).where(
        models.Appeal.account_id == account.account_id, models.Appeal.resolved_on.is_(None))).all()
    if request.get("resolved_on"):
        if not pending:
            raise InvalidInput({"resolved_on": ["The account has no pending appeal to resolve."]})
        for appeal in pending:
            appeal.resolved_on = request["resolved_on"]
        return _after_staff_change(uow, account)
    filed_on = _requested_on(uow, request, "filed_on")
    if request["kind"] == "dispute":
        # received 5 days after its mailing (delivery); a bill never delivered cannot be out of time
        mailed = uow.session.scalars(sa.select(sa.func.coalesce(models.Receivable.delivered_on, filed_on)).where(
            models.Receivable.account_id == account.account_id, models.Receivable.adjustment.is_(False))).all()
        problem = windows.dispute_problem(list(mailed), filed_on)
        if problem:
            raise InvalidInput({"filed_on": [problem]})
    uow.session.add(models.Appeal(appeal_id=_next_id(uow, "AP"), account_id=account.account_id,
                                  filed_on=filed_on, kind=request["kind"]))
    return _after_staff_change(uow, account)


def grant_extension(uow, request: dict) -> dict:
    account = _known_account(uow, request["account_id"], lock=True)
    if request["until"] < uow.today():
        raise InvalidInput({"until": ["An extension must run to today or later."]})
    _check_extension_window(account, _requested_on(uow, request), "an extension of time to pay")
    uow.session.add(models.Extension(extension_id=_next_id(uow, "EX"), account_id=account.account_id,
                                     granted_on=uow.today(), until=request["until"]))
    return _after_staff_change(uow, account)


def _requested_on(uow, request: dict, field: str = "requested_on") -> date:
    day = request.get(field) or uow.today()
    if day > uow.today():
        raise InvalidInput({field: [f"{day} is after the business date {uow.today()}: record what was asked."]})
    return day


def _check_extension_window(account: models.CollectionAccount, requested_on: date, what: str) -> None:
    """Gov. Code 60372(c): within 13 days of the mailing of the notice of the current cycle."""
    mailed = [d for d in (account.shutoff_notice_mailed_on, account.final_notice_mailed_on) if d is not None]
    problem = windows.extension_problem(max(mailed) if mailed else None, requested_on, what)
    if problem:
        raise InvalidInput({"requested_on": [problem]})


def set_account_flags(uow, request: dict) -> dict:
    """A tenant-occupied rental (tenant notices, H&S 116916) and low-income status with its evidence
    (H&S 116914(b)); each change is in the action log with who made it."""
    account = _known_account(uow, request["account_id"], lock=True)
    if request.get("tenant_occupied") is not None:
        account.tenant_occupied = request["tenant_occupied"]
        _log(uow, account.account_id, f"tenant_occupied_{str(account.tenant_occupied).lower()}",
             rules.TENANT_TEN_DAYS, request["changed_by"])
    if request.get("low_income") is not None:
        verified_on = request.get("low_income_verified_on")
        if verified_on and verified_on > uow.today():
            raise InvalidInput({"low_income_verified_on": ["Evidence cannot be verified after the business date."]})
        account.low_income = request["low_income"]
        account.low_income_evidence = request.get("low_income_evidence") if account.low_income else None
        account.low_income_verified_on = verified_on if account.low_income else None
        _log(uow, account.account_id, f"low_income_{str(account.low_income).lower()}",
             rules.LOW_INCOME_INTEREST_WAIVER, f"{request['changed_by']}: {account.low_income_evidence or 'none'}")
    account.flags_changed_by = request["changed_by"]
    return _after_staff_change(uow, account)


def record_medical_certification(uow, request: dict) -> dict:
    account = _known_account(uow, request["account_id"], lock=True)
    if request.get("expires_on") and request["expires_on"] < request["certified_on"]:
        raise InvalidInput({"expires_on": ["A certification cannot expire before it was made."]})
    existing = uow.session.get(models.MedicalCertification, account.account_id)
    if existing is None:
        existing = models.MedicalCertification(account_id=account.account_id)
        uow.session.add(existing)
    existing.certified_on, existing.expires_on = request["certified_on"], request.get("expires_on")
    account.financially_unable = request["financially_unable"]
    return _after_staff_change(uow, account)


def agree_payment_plan(uow, request: dict) -> dict:
    """Amortize everything past due over `months` monthly installments (replacing any earlier plan)."""
    account = _known_account(uow, request["account_id"], lock=True)
    today = uow.today()
    rows = _open_receivables(uow, [account.account_id]).get(account.account_id, [])
    arrears = assess(_view(account, rows), today).past_due_amount
    if arrears <= 0:
        raise InvalidInput({"account_id": ["Nothing is past due on this account: there is nothing to amortize."]})
    if not _medically_protected(uow, account, today):  # H&S 116910(a)(3): the plan must then be offered
        _check_extension_window(account, _requested_on(uow, request), "a payment plan")
    if request["first_due_on"] < today:
        raise InvalidInput({"first_due_on": ["The first installment cannot fall before today."]})
    installments = engine.amortize(arrears, request["first_due_on"], request["months"], collections_policy())
    uow.session.execute(sa.update(models.PaymentPlan).where(models.PaymentPlan.account_id == account.account_id)
                        .values(active=False))
    plan_id = _next_id(uow, "PL")
    uow.session.add(models.PaymentPlan(plan_id=plan_id, account_id=account.account_id, agreed_on=today, active=True))
    uow.session.flush()
    uow.session.add_all(models.PlanInstallment(plan_id=plan_id, seq=n, due_on=i.due_on, amount=i.amount, paid=ZERO)
                        for n, i in enumerate(installments, start=1))
    return _after_staff_change(uow, account)


def record_contact_attempt(uow, request: dict) -> dict:
    account = _known_account(uow, request["account_id"], lock=True)
    attempted_on = request.get("attempted_on") or uow.today()
    if attempted_on > uow.today():
        raise InvalidInput({"attempted_on": ["A contact attempt cannot be recorded for a future date."]})
    uow.session.add(models.ContactAttempt(attempt_id=_next_id(uow, "CA"), account_id=account.account_id,
                                          attempted_on=attempted_on, reached_adult=request["reached_adult"]))
    return _after_staff_change(uow, account)


def annual_discontinuation_count(uow, year: int) -> int:
    """Residential discontinuations for nonpayment in a calendar year (H&S 116918): shutoffs operations
    reported done (the meter locked), on the day they were done; an order never carried out is no discontinuation."""
    orders = uow.session.scalars(sa.select(models.WorkOrder).where(models.WorkOrder.kind == "shutoff",
                                                                   models.WorkOrder.status == "done"))
    return engine.annual_discontinuation_count(
        [engine.Discontinuation(o.account_id, o.completed_on, o.residential, o.for_nonpayment) for o in orders], year)


# --- notices given, field work done --------------------------------------------------------------

def record_notice_dispatched(uow, dispatched: dict) -> None:
    """Notifications mailed (or emailed) a notice: a mailed or posted notice now counts, from that date."""
    notice = uow.session.get(models.Notice, dispatched["notice_id"])
    if notice is None or notice.account_id != dispatched["account_id"]:  # no retry can fix it: dead-lettered
        raise InvalidMessage(f"collections requested no notice {dispatched['notice_id']} for account "
                             f"{dispatched['account_id']}")
    if dispatched["channel"] == "email":  # a courtesy copy: the law counts the mailed or posted notice
        _log(uow, notice.account_id, f"{notice.kind}_emailed", rules.BY_CODE[notice.rule_code], notice.notice_id)
        return
    _give(uow, notice.account_id, notice.kind, notice.notice_id, notice.requested_on, dispatched["dispatched_on"],
          rules.BY_CODE[notice.rule_code])
    notice.given_on = notice.given_on or dispatched["dispatched_on"]


def record_work_order_completed(uow, report: dict) -> None:
    """Operations' report of a work order: a locked meter is a discontinuation, a posted door hanger starts
    the 48-hour clock, work not done is planned again. Orders of other services (metering) are not ours."""
    order = uow.session.get(models.WorkOrder, report["work_order_id"], with_for_update=True)
    if order is None or order.status != "ordered":
        return
    done = report["outcome"] == "done"
    completed_on = report["completed_at"].astimezone(DISTRICT_ZONE).date()
    order.status = "done" if done else "could_not_complete"
    order.completed_on, order.outcome_reason = completed_on, report.get("reason")
    if order.kind == "post_notice":
        if done:
            _give(uow, order.account_id, order.notice_kind, order.notice_id or "", order.ordered_on, completed_on,
                  ORDER_RULES[order.notice_kind])
        else:
            _change_state(uow, order.account_id,
                          lambda state: engine.record_not_posted(state, order.notice_kind, order.ordered_on))
    elif order.kind == "shutoff" and not done:
        _shutoff_not_done(uow, order)
    elif order.kind == "reconnect" and done:
        _charge_reconnection_fee(uow, order, report["completed_at"].astimezone(DISTRICT_ZONE))
    _log(uow, order.account_id, f"{order.kind}_{order.status}", ORDER_RULES[order.notice_kind or order.kind],
         order.order_id, completed_on)


def _shutoff_not_done(uow, order: models.WorkOrder) -> None:
    """No discontinuation happened: a reconnect ordered for it is cancelled, with no fee to charge."""
    account = _known_account(uow, order.account_id, lock=True)
    for reconnect in uow.session.scalars(sa.select(models.WorkOrder).where(
            models.WorkOrder.shutoff_order_id == order.order_id, models.WorkOrder.kind == "reconnect")):
        reconnect.status, reconnect.fee_normal_hours, reconnect.fee_after_hours = "cancelled", ZERO, ZERO
    if account.shutoff_order_id == order.order_id:
        _change_state(uow, account.account_id, engine.record_shutoff_not_done)
        account.shutoff_order_id = None


def _charge_reconnection_fee(uow, order: models.WorkOrder, done_at) -> None:
    """The meter is unsealed: billing charges the fee the order carried, normal or after hours by when the crew
    did it (capped for a low-income household when ordered, H&S 116914(a)(1)). A fee of 0.00 charges nothing."""
    account = _known_account(uow, order.account_id)
    after_hours = engine.after_hours(done_at, district_calendar(), collections_policy())
    order.fee_after_hours_charged = after_hours
    order.fee_charged = order.fee_after_hours if after_hours else order.fee_normal_hours
    if not order.fee_charged:
        return
    order.fee_request_id = f"RF-{order.order_id}"
    rule = engine.reconnection_fee_rule(account.low_income)
    uow.emit(FEE_ASSESSED, {
        "request_id": order.fee_request_id, "account_id": order.account_id, "kind": "reconnection",
        "amount": order.fee_charged, "assessed_on": done_at.date(), "after_hours": after_hours,
        "work_order_id": order.order_id,
        "reason": f"Reconnection fee ({'after hours' if after_hours else 'normal hours'}), meter unsealed "
                  f"{done_at.date().isoformat()}",
        "rule": {"code": rule.code, "citation": rule.citation}})
    _log(uow, order.account_id, "reconnection_fee_assessed", rule, order.fee_request_id, done_at.date())


ORDER_RULES = {"shutoff": rules.ANNUAL_DISCONTINUATION_COUNT, "reconnect": rules.RECONNECTION,
               engine.FORTY_EIGHT_HOUR_NOTICE: rules.FORTY_EIGHT_HOUR_CONTACT,
               engine.FINAL_NOTICE_POSTING: rules.PLAN_DEFAULT_FINAL_NOTICE}


def _give(uow, account_id, kind, reference, requested_on, given_on, rule) -> None:
    if _change_state(uow, account_id,
                     lambda state: engine.record_given(state, kind, reference, requested_on, given_on)):
        verb = "posted" if kind in engine.POSTED_NOTICES else "mailed"
        _log(uow, account_id, f"{kind}_{verb}", rule, reference, given_on)


def _change_state(uow, account_id: str, change) -> bool:
    """Apply a domain change to the account's engine state and write it back; returns what `change` did."""
    account = _known_account(uow, account_id, lock=True)
    rows = _open_receivables(uow, [account_id]).get(account_id, [])
    state = timeline.load_states(uow, [account], {account_id: rows})[account_id]
    changed = change(state)
    timeline.write_back(account, rows, state, uow.today())
    return changed is not False


def _log(uow, account_id, kind, rule, reference, day=None, reason=None) -> None:
    uow.session.add(models.CollectionAction(account_id=account_id, business_date=day or uow.today(), kind=kind,
                                            rule_code=rule.code, citation=rule.citation, reference=reference,
                                            reason=reason))


def _after_staff_change(uow, account) -> dict:
    """A staff change can make something due at once (e.g. reconnection on an arrangement)."""
    uow.session.flush()
    if account.shutoff_ordered_on is not None and account.reconnect_ordered_on is None:
        rows = _open_receivables(uow, [account.account_id]).get(account.account_id, [])
        _reconnect_if_due(uow, account, rows, uow.today())
        uow.session.flush()
    return collections_status(uow, account.account_id)


def _medically_protected(uow, account: models.CollectionAccount, today: date) -> bool:
    cert = uow.session.get(models.MedicalCertification, account.account_id)
    return account.financially_unable and cert is not None and \
        engine.MedicalCertification(cert.certified_on, cert.expires_on).valid_on(today)


def _known_account(uow, account_id: str, lock: bool = False) -> models.CollectionAccount:
    account = uow.session.get(models.CollectionAccount, account_id, with_for_update=lock)
    if account is None:
        raise NotFound("account", account_id)
    return account
