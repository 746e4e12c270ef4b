"""Collections use cases. Each runs in one unit of work: state, events and inbox commit together."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_collections.adapters import models
from cis_collections.domain.model import (CURRENT, DELINQUENT, ZERO, AccountView, Assessment, Receivable,
                                          apply_payment, assess, next_identifier)

NOTICE_REQUESTED = "collections.notice_requested.v1"


# --- consumed events ---------------------------------------------------------------------------

def record_bill(uow, bill: dict) -> None:
    """A bill was issued: it becomes an open receivable (credit on the account pays it first)."""
    account = _locked_account(uow, bill["account_id"])
    if uow.session.get(models.Receivable, bill["bill_id"]):
        return  # the same bill announced twice (a re-published event): already known
    owed = max(bill["total"], ZERO)
    row = models.Receivable(bill_id=bill["bill_id"], account_id=account.account_id, amount=owed, paid=ZERO,
                            issued_on=bill["issued_on"], due_on=bill["due_on"])
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
    rows = _open_receivables(uow, [account.account_id]).get(account.account_id, [])
    view = _view(account, rows)
    _, leftover = apply_payment(view.receivables, payment["amount"])
    _write_back(view, rows)
    account.credit += leftover
    if account.status == DELINQUENT and assess(view, uow.today()).past_due_amount == 0:
        _clear_delinquency(account, uow.today())


# --- daily run ---------------------------------------------------------------------------------

def run_daily(uow) -> dict:
    """Assess every account with open receivables, once per business date.

    The daily_runs row is claimed first: a concurrent run for the same date waits on its
    primary key and then finds the recorded run instead of assessing (and notifying) twice.
    """
    today = uow.today()
    claimed = uow.session.execute(
        insert(models.DailyRun).values(business_date=today, accounts_assessed=0, newly_delinquent=0,
                                       notices_requested=0)
        .on_conflict_do_nothing().returning(models.DailyRun.business_date)).first()
    if claimed is None:
        return daily_run_view(uow.session.get(models.DailyRun, today))
    run = uow.session.get(models.DailyRun, today)
    accounts = _accounts_to_assess(uow)
    receivables = _open_receivables(uow, [a.account_id for a in accounts])
    for account in accounts:
        newly_delinquent, notice_requested = _assess_account(uow, account, receivables.get(account.account_id, []),
                                                             today)
        run.newly_delinquent += newly_delinquent
        run.notices_requested += notice_requested
    run.accounts_assessed = len(accounts)
    uow.commit()
    return daily_run_view(run)


def _assess_account(uow, account, rows: list, today: date) -> tuple[int, int]:
    view = _view(account, rows)
    assessment = assess(view, today)
    newly_delinquent = 0
    if assessment.status == DELINQUENT and account.status != DELINQUENT:
        account.status, account.delinquent_since, account.cleared_on = DELINQUENT, today, None
        newly_delinquent = 1
    elif assessment.status == CURRENT and account.status == DELINQUENT:
        _clear_delinquency(account, today)
    if not assessment.reminder_due:
        return newly_delinquent, 0
    notice_id = _request_past_due_notice(uow, account.account_id, assessment, today)
    for row in rows:
        if row.bill_id in assessment.reminder_bill_ids:
            row.past_due_notice_id = notice_id
    return newly_delinquent, 1


def _request_past_due_notice(uow, account_id: str, assessment: Assessment, today: date) -> str:
    """One notice per account per run, naming the bills that became past due since the last one."""
    notice = models.Notice(notice_id=_next_id(uow, "N"), account_id=account_id, kind="past_due",
                           requested_on=today, amount_past_due=assessment.past_due_amount,
                           bill_ids=list(assessment.reminder_bill_ids), oldest_due_on=assessment.oldest_due_on)
    uow.session.add(notice)
    uow.emit(NOTICE_REQUESTED, {
        "notice_id": notice.notice_id, "account_id": account_id, "kind": notice.kind,
        "amount_past_due": notice.amount_past_due, "bill_ids": notice.bill_ids,
        "oldest_due_on": notice.oldest_due_on, "requested_on": notice.requested_on})
    return notice.notice_id


# --- queries -----------------------------------------------------------------------------------

def account_status(uow, account_id: str) -> dict:
    account = uow.session.get(models.CollectionAccount, account_id)
    if account is None:  # never billed: nothing can be owed
        return {"account_id": account_id, "status": CURRENT, "past_due_amount": ZERO,
                "delinquent_since": None, "notices_requested": []}
    rows = _open_receivables(uow, [account_id]).get(account_id, [])
    assessment = assess(_view(account, rows), uow.today())
    notices = uow.session.scalars(sa.select(models.Notice).where(models.Notice.account_id == account_id)
                                  .order_by(models.Notice.requested_on, models.Notice.notice_id)).all()
    return {"account_id": account_id, "status": account.status,
            "past_due_amount": assessment.past_due_amount, "delinquent_since": account.delinquent_since,
            "notices_requested": [{"notice_id": n.notice_id, "kind": n.kind, "requested_on": n.requested_on,
                                   "amount_past_due": n.amount_past_due} for n in notices]}


def daily_run_view(run: models.DailyRun) -> dict:
    return {"business_date": run.business_date, "accounts_assessed": run.accounts_assessed,
            "newly_delinquent": run.newly_delinquent, "notices_requested": run.notices_requested}


def has_run_for_today(uow) -> bool:
    return uow.session.get(models.DailyRun, uow.today()) is not None


# --- helpers -----------------------------------------------------------------------------------

def _locked_account(uow, account_id: str) -> models.CollectionAccount:
    """The account row, created on first sight, locked so its bills and payments change one at a time."""
    uow.session.execute(insert(models.CollectionAccount).values(
        account_id=account_id, status=CURRENT, credit=ZERO).on_conflict_do_nothing())
    return uow.session.get(models.CollectionAccount, account_id, with_for_update=True, populate_existing=True)


def _accounts_to_assess(uow) -> list[models.CollectionAccount]:
    owing = sa.select(models.Receivable.account_id).where(models.Receivable.paid < models.Receivable.amount)
    return list(uow.session.scalars(
        sa.select(models.CollectionAccount)
        .where(sa.or_(models.CollectionAccount.account_id.in_(owing),
                      models.CollectionAccount.status == DELINQUENT))
        .order_by(models.CollectionAccount.account_id).with_for_update()))


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
                      paid=Decimal(row.paid), past_due_noticed=row.past_due_notice_id is not None)


def _view(account: models.CollectionAccount, rows: list[models.Receivable]) -> AccountView:
    return AccountView(account_id=account.account_id, receivables=[_domain_receivable(r) for r in rows],
                       credit=account.credit, status=account.status, delinquent_since=account.delinquent_since)


def _write_back(view: AccountView, rows: list[models.Receivable]) -> None:
    paid = {r.bill_id: r.paid for r in view.receivables}
    for row in rows:
        row.paid = paid[row.bill_id]


def _next_id(uow, prefix: str) -> str:
    return next_identifier(prefix, uow.session.execute(models.ids.next_value()).scalar())
