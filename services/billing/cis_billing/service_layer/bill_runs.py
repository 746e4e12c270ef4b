"""Bill runs: bill every open account of a cycle for a period, exactly once, surviving crashes.

A run is requested (pending), then executed by a poller: its accounts are fixed in
`bill_run_accounts` (running), determinants are fetched from metering in batches, and
accounts are billed in chunks, each chunk ONE transaction holding its bills, lines, ledger
entries, bill_issued events and the accounts' outcomes. A crash loses at most the chunk in
flight, which the restarted poller redoes; the database refuses a second bill for an
account and period, and only bills actually inserted get a ledger entry and an event.
"""
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from cis_billing.adapters.locks import try_advisory_lock
from cis_billing.adapters.models import Account, Bill, BillLine, BillRun, BillRunAccount, LedgerEntry, Tariff
from cis_billing.domain.billing import due_date
from cis_billing.domain.tariff import BillLine as DomainLine
from cis_billing.domain.tariff import CannotBill, TariffVersion, bill_total, calculate_bill, tariff_in_effect
from cis_billing.service_layer.services import balances, next_id, next_ids
from cis_contracts.registry import validate
from cis_runtime.errors import NotFound

log = logging.getLogger(__name__)

METERING_BATCH = 5000  # accounts per metering.get_consumption call
CHUNK = 250            # accounts billed per transaction
RUNS, RUN_ACCOUNTS = BillRun.__table__, BillRunAccount.__table__

ConsumptionFetcher = Callable[[dict], dict]


# --- requesting and reporting ---------------------------------------------------------------

def start_bill_run(uow, request: dict) -> dict:
    """Request a run; the same cycle and period again returns the run already requested."""
    period = (request["cycle"], request["period_start"], request["period_end"])
    uow.session.execute(insert(RUNS).values(
        run_id=next_id(uow, "BR"), cycle=period[0], period_start=period[1], period_end=period[2],
        issued_on=uow.today(), status="pending").on_conflict_do_nothing(constraint="bill_runs_once_per_period"))
    uow.commit()
    run_id = uow.session.scalar(sa.select(BillRun.run_id).where(
        BillRun.cycle == period[0], BillRun.period_start == period[1], BillRun.period_end == period[2]))
    return get_bill_run(uow, run_id)


def get_bill_run(uow, run_id: str) -> dict:
    run = uow.session.get(BillRun, run_id)
    if run is None:
        raise NotFound("bill run", run_id)
    counts = dict(uow.session.execute(
        sa.select(BillRunAccount.outcome, sa.func.count()).where(BillRunAccount.run_id == run_id)
        .group_by(BillRunAccount.outcome)).all())
    exceptions = uow.session.execute(
        sa.select(BillRunAccount.account_id, BillRunAccount.reason)
        .where(BillRunAccount.run_id == run_id, BillRunAccount.outcome == "exception")
        .order_by(BillRunAccount.account_id)).all()
    return {"run_id": run.run_id, "cycle": run.cycle, "period_start": run.period_start,
            "period_end": run.period_end, "status": run.status, "accounts_total": sum(counts.values()),
            "bills_issued": counts.get("billed", 0),
            "exceptions": [{"account_id": a, "reason": r} for a, r in exceptions]}


# --- executing ------------------------------------------------------------------------------

def execute_due_bill_runs(uow_factory, fetch_consumption: ConsumptionFetcher) -> None:
    """Carry every pending or running run forward; a run another worker holds is left to it."""
    with uow_factory() as uow:
        run_ids = uow.session.scalars(sa.select(BillRun.run_id).where(
            BillRun.status.in_(("pending", "running"))).order_by(BillRun.run_id)).all()
    for run_id in run_ids:
        with try_advisory_lock(uow_factory.engine, f"bill_run:{run_id}") as held:
            if held:
                execute_bill_run(uow_factory, run_id, fetch_consumption)


def execute_bill_run(uow_factory, run_id: str, fetch_consumption: ConsumptionFetcher) -> None:
    with uow_factory() as uow:
        stored = uow.session.get(BillRun, run_id)
        if stored.status == "completed":
            return
        if stored.status == "pending":
            _fix_accounts(uow, stored)
        run = RunPeriod(stored.run_id, stored.cycle, stored.period_start, stored.period_end, stored.issued_on)
        tariffs = _tariffs(uow)
        uow.commit()
    while batch := _accounts_to_bill(uow_factory, run_id):
        consumption = _fetch(fetch_consumption, run, [item.account_id for item in batch])
        for start in range(0, len(batch), CHUNK):
            with uow_factory() as uow:
                bill_chunk(uow, run, tariffs, batch[start:start + CHUNK], consumption)
                uow.commit()
    with uow_factory() as uow:
        uow.session.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id).values(status="completed"))
        uow.commit()
    log.info("bill run %s completed", run_id)


@dataclass(frozen=True)
class RunPeriod:
    """What a run bills, read once (ORM rows do not outlive their unit of work)."""
    run_id: str
    cycle: str
    period_start: date
    period_end: date
    issued_on: date


def _fix_accounts(uow, run: BillRun) -> None:
    """The run covers the cycle's accounts open by the period's end, as they are now."""
    population = sa.select(sa.literal(run.run_id), Account.account_id).where(
        Account.bill_cycle == run.cycle, Account.status == "open", Account.opened_on <= run.period_end)
    uow.session.execute(insert(RUN_ACCOUNTS).from_select(["run_id", "account_id"], population)
                        .on_conflict_do_nothing())
    run.status = "running"


@dataclass(frozen=True)
class AccountToBill:
    account_id: str
    customer_class: str


def _accounts_to_bill(uow_factory, run_id: str) -> list[AccountToBill]:
    with uow_factory() as uow:
        rows = uow.session.execute(
            sa.select(Account.account_id, Account.customer_class)
            .join(BillRunAccount, BillRunAccount.account_id == Account.account_id)
            .where(BillRunAccount.run_id == run_id, BillRunAccount.outcome.is_(None))
            .order_by(Account.account_id).limit(METERING_BATCH)).all()
    return [AccountToBill(*row) for row in rows]


def _tariffs(uow) -> list[TariffVersion]:
    return [TariffVersion(t.tariff_id, t.version, t.effective_from, t.document)
            for t in uow.session.scalars(sa.select(Tariff)).all()]


@dataclass
class Consumption:
    determinants: dict[str, dict]
    missing: dict[str, str]


def _fetch(fetch_consumption: ConsumptionFetcher, run: RunPeriod, account_ids: list[str]) -> Consumption:
    response = fetch_consumption({"period_start": run.period_start.isoformat(),
                                  "period_end": run.period_end.isoformat(), "account_ids": account_ids})
    loaded = validate("metering.consumption_response.v1", response)
    return Consumption({d["account_id"]: d for d in loaded["determinants"]},
                       {m["account_id"]: m["reason"] for m in loaded["missing"]})


# --- one chunk, one transaction -------------------------------------------------------------

@dataclass(frozen=True)
class DraftBill:
    account_id: str
    tariff: TariffVersion
    lines: list[DomainLine]

    @property
    def total(self) -> Decimal:
        return bill_total(self.lines)


def bill_chunk(uow, run: RunPeriod, tariffs: list[TariffVersion], accounts: list[AccountToBill],
               consumption: Consumption) -> None:
    account_ids = [a.account_id for a in accounts]
    # Lock the accounts (as payments do) so each bill's balance_due is exact.
    uow.session.execute(sa.select(Account.account_id).where(Account.account_id.in_(account_ids))
                        .order_by(Account.account_id).with_for_update())
    drafts, exceptions = [], {}
    for account in accounts:
        try:
            drafts.append(draft_bill(account, run.period_end, tariffs, consumption))
        except CannotBill as reason:
            exceptions[account.account_id] = str(reason)
    issued = _insert_bills(uow, run, drafts)
    for draft in drafts:
        if draft.account_id not in issued:
            exceptions[draft.account_id] = "already billed for this period"
    _record_outcomes(uow, run.run_id, list(issued), exceptions)


def draft_bill(account: AccountToBill, period_end: date, tariffs: list[TariffVersion],
               consumption: Consumption) -> DraftBill:
    determinant = consumption.determinants.get(account.account_id)
    if determinant is None:
        raise CannotBill(consumption.missing.get(account.account_id, "metering returned no determinants"))
    tariff = tariff_in_effect(tariffs, account.customer_class, period_end)
    return DraftBill(account.account_id, tariff,
                     calculate_bill(tariff.document, determinant["meter_size"], determinant["consumption"]))


def _insert_bills(uow, run: RunPeriod, drafts: list[DraftBill]) -> dict[str, str]:
    """Insert the bills the database accepts; only those get lines, a ledger entry and an event.

    Returns account_id -> bill_id of the bills inserted.
    """
    if not drafts:
        return {}
    bill_ids = next_ids(uow, "B", len(drafts))
    due_on = due_date(run.issued_on)
    rows = [{"bill_id": bill_id, "account_id": d.account_id, "bill_run_id": run.run_id,
             "period_start": run.period_start, "period_end": run.period_end, "issued_on": run.issued_on,
             "due_on": due_on, "total": d.total} for bill_id, d in zip(bill_ids, drafts)]
    bills = Bill.__table__
    issued = dict(uow.session.execute(
        insert(bills).values(rows).on_conflict_do_nothing(constraint="bills_one_per_account_period")
        .returning(bills.c.account_id, bills.c.bill_id)).all())
    new = [(row, draft) for row, draft in zip(rows, drafts) if issued.get(draft.account_id) == row["bill_id"]]
    if not new:
        return {}
    line_rows = [_line_row(row["bill_id"], draft.tariff, line_no, line)
                 for row, draft in new for line_no, line in enumerate(draft.lines, start=1)]
    uow.session.execute(sa.insert(BillLine.__table__), line_rows)
    uow.session.execute(sa.insert(LedgerEntry.__table__), [
        {"account_id": row["account_id"], "kind": "bill", "amount": row["total"], "posted_on": run.issued_on,
         "reference": row["bill_id"]} for row, _ in new])
    balance_after = balances(uow, [row["account_id"] for row, _ in new])
    lines_by_bill: dict[str, list[dict]] = {}
    for line_row in line_rows:
        lines_by_bill.setdefault(line_row["bill_id"], []).append(_line_payload(line_row))
    uow.emit_many("billing.bill_issued.v1", [
        {**row, "balance_due": balance_after[row["account_id"]], "lines": lines_by_bill[row["bill_id"]]}
        for row, _ in new])
    return {row["account_id"]: row["bill_id"] for row, _ in new}


def _line_row(bill_id: str, tariff: TariffVersion, line_no: int, line: DomainLine) -> dict:
    return {"bill_id": bill_id, "line_no": line_no, "description": line.description, "quantity": line.quantity,
            "unit": line.unit, "rate": line.rate, "amount": line.amount, "rule": line.rule,
            "tariff_id": tariff.tariff_id, "tariff_version": tariff.version}


def _line_payload(row: dict) -> dict:
    return {"line_no": row["line_no"], "description": row["description"], "quantity": row["quantity"],
            "unit": row["unit"], "rate": row["rate"], "amount": row["amount"], "rule": row["rule"],
            "tariff": f"{row['tariff_id']}@{row['tariff_version']}"}


def _record_outcomes(uow, run_id: str, billed: list[str], exceptions: dict[str, str]) -> None:
    if billed:
        uow.session.execute(sa.update(RUN_ACCOUNTS).where(
            RUN_ACCOUNTS.c.run_id == run_id, RUN_ACCOUNTS.c.account_id.in_(billed)).values(outcome="billed"))
    if exceptions:
        uow.session.execute(
            sa.update(RUN_ACCOUNTS).where(RUN_ACCOUNTS.c.run_id == sa.bindparam("run"),
                                          RUN_ACCOUNTS.c.account_id == sa.bindparam("account"))
            .values(outcome="exception", reason=sa.bindparam("why")),
            [{"run": run_id, "account": account_id, "why": reason} for account_id, reason in exceptions.items()])
