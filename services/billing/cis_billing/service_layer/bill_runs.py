"""Bill runs: bill every open account of a cycle for a period, exactly once, surviving crashes.

A run is requested (pending), then executed by a poller: its accounts are fixed in
`bill_run_accounts` (running), determinants are fetched from metering in batches (the next
while the current is billed), and accounts are billed in chunks (four in flight), each chunk ONE
transaction holding its bills, lines, ledger entries, bill_issued events and its exceptions. A
crash loses at most the chunks in flight, which the restarted poller redoes: an account counts as
billed when the run's bill for it exists. The database refuses a second bill for an account and
period, and only bills actually inserted get a ledger entry and an event. Everything a chunk
writes goes in one statement per table (`cis_runtime.bulk`), never one per row.
"""
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from marshmallow import ValidationError, missing
from sqlalchemy.dialects.postgresql import insert

from cis_billing.adapters import bulk
from cis_billing.adapters.locks import lock_bill_cycle, lock_ledgers, try_advisory_lock
from cis_billing.adapters.models import Account, Bill, BillLine, BillRun, BillRunAccount
from cis_billing.domain.billing import cycle_period_gap, due_date, overlapping_bill, run_period_problem
from cis_billing.domain import true_ups
from cis_billing.domain.engine import USAGE_RULES, BillPlan, CannotBill, Determinants, Line, Period, bill_total
from cis_billing.domain.true_ups import EarlierBill
from cis_billing.domain.units import convert
from cis_billing.domain.tariff_document import Tariff
from cis_billing.service_layer.services import balances, next_id, next_ids
from cis_billing.service_layer.tariffs import account_attributes, stored_tariffs
from cis_contracts.fields import MONEY_LIMIT
from cis_contracts.registry import get as get_contract, validate
from cis_runtime.errors import InvalidInput, InvalidMessage, NotFound
from cis_runtime import config
from cis_runtime.bulk import insert_rows

log = logging.getLogger(__name__)

METERING_BATCH = 5000  # accounts per metering.billing_determinants call (the first arrives sooner)
# Accounts billed per transaction (a crash redoes at most the chunks in flight), and chunks in
# flight: 2 -> 4 took a 100,000-account run from ~35 s to ~30 s on the shared 2-core machine.
CHUNK = int(config.env("CIS_BILL_RUN_CHUNK", "500"))
CHUNKS_IN_FLIGHT = int(config.env("CIS_BILL_RUN_CHUNKS_IN_FLIGHT", "4"))
RUNS, RUN_ACCOUNTS = BillRun.__table__, BillRunAccount.__table__
# How long after a run's period its exceptions are still tried again each business day; after that
# an account still not billable is a case for staff (a run's exceptions stay listed on the run).
RETRY_FOR = timedelta(days=int(config.env("CIS_BILL_RUN_RETRY_DAYS", "120")))

DeterminantsFetcher = Callable[[dict], dict]  # metering.billing_determinants


# --- requesting and reporting ---------------------------------------------------------------

def start_bill_run(uow, request: dict) -> dict:
    """Request a run; the same cycle and period again returns the run already requested. A cycle no
    account is on, a period longer than a run may bill, ending after the business date, or leaving days
    after the cycle's last period unbilled is refused."""
    period = (request["cycle"], request["period_start"], request["period_end"])
    if problem := run_period_problem(period[1], period[2], uow.today()):
        raise InvalidInput({"period_end": [problem]})
    if not uow.session.scalar(sa.select(sa.exists().where(Account.bill_cycle == period[0]))):
        raise InvalidInput({"cycle": [f"no account is on bill cycle {period[0]!r} (accounts opened moments ago "
                                      "may not have reached billing yet)"]})
    lock_bill_cycle(uow.session, period[0])
    billed = uow.session.execute(sa.select(BillRun.run_id, BillRun.period_start, BillRun.period_end).where(
        BillRun.cycle == period[0])).all()
    if problem := cycle_period_gap(period[1], [tuple(row) for row in billed]):
        raise InvalidInput({"period_start": [f"cycle {period[0]}: {problem}"]})
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
    accounts_total = uow.session.scalar(
        sa.select(sa.func.count()).select_from(BillRunAccount).where(BillRunAccount.run_id == run_id))
    bills_issued = uow.session.scalar(sa.select(sa.func.count()).select_from(Bill).where(Bill.bill_run_id == run_id))
    exceptions = uow.session.execute(
        sa.select(BillRunAccount.account_id, BillRunAccount.reason)
        .where(BillRunAccount.run_id == run_id, BillRunAccount.outcome == "exception")
        .order_by(BillRunAccount.account_id)).all()
    return {"run_id": run.run_id, "cycle": run.cycle, "period_start": run.period_start,
            "period_end": run.period_end, "status": run.status, "accounts_total": accounts_total,
            "bills_issued": bills_issued,
            "exceptions": [{"account_id": a, "reason": r} for a, r in exceptions]}


# --- executing ------------------------------------------------------------------------------

def execute_due_bill_runs(uow_factory, fetch_determinants: DeterminantsFetcher) -> None:
    """Carry every pending or running run forward; a run another worker holds is left to it."""
    with uow_factory() as uow:
        retry_exceptions(uow)
        run_ids = uow.session.scalars(sa.select(BillRun.run_id).where(
            BillRun.status.in_(("pending", "running"))).order_by(BillRun.run_id)).all()
    for run_id in run_ids:
        with try_advisory_lock(uow_factory.engine, f"bill_run:{run_id}") as held:
            if held:
                execute_bill_run(uow_factory, run_id, fetch_determinants)


def execute_bill_run(uow_factory, run_id: str, fetch_determinants: DeterminantsFetcher) -> None:
    with uow_factory() as uow:
        stored = uow.session.get(BillRun, run_id)
        if stored.status == "completed":
            return
        if stored.status == "pending":
            _fix_accounts(uow, stored)
        run = RunPeriod(stored.run_id, stored.cycle, stored.period_start, stored.period_end,
                        stored.retried_on or stored.issued_on)
        tariffs = RunTariffs(stored_tariffs(uow), Period(run.period_start, run.period_end))
        uow.commit()

    def bill_in_own_transaction(chunk: list[AccountToBill], consumption: Consumption) -> None:
        with uow_factory() as uow:
            bill_chunk(uow, run, tariffs, chunk, consumption)
            uow.commit()

    def next_batch(after: str) -> tuple[list[AccountToBill], Consumption | None]:
        batch = _accounts_to_bill(uow_factory, run, after)
        if not batch:
            return batch, None
        return batch, _fetch_by_service_period(fetch_determinants, tariffs.period, batch)

    # Lanes are green threads under the services' eventlet (the drivers yield while they wait):
    # the next batch's determinants are fetched while this batch is billed, and while some chunks
    # wait on PostgreSQL another is calculated.
    with ThreadPoolExecutor(CHUNKS_IN_FLIGHT + 1) as lanes:
        upcoming = lanes.submit(next_batch, "")
        while True:
            batch, consumption = upcoming.result()
            if not batch:
                break
            upcoming = lanes.submit(next_batch, batch[-1].account_id)
            in_flight = []
            for start in range(0, len(batch), CHUNK):
                if len(in_flight) == CHUNKS_IN_FLIGHT:
                    in_flight.pop(0).result()  # a failed chunk stops the run here (the poller retries)
                in_flight.append(lanes.submit(bill_in_own_transaction, batch[start:start + CHUNK], consumption))
            for chunk in in_flight:
                chunk.result()
    with uow_factory() as uow:
        uow.session.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id).values(status="completed"))
        uow.commit()
    log.info("bill run %s completed", run_id)


def retry_exceptions(uow) -> list[str]:
    """Once a business day, a completed run's exceptions are tried again: an account metering held
    (an unresolved read exception) or could not measure is billed for the run's period as soon as
    its reads are resolved, on the day of the retry, instead of never. Returns the runs retried.

    Retrying is the run's normal path: the accounts' outcome is cleared and the run is running
    again, so a crash mid-retry is recovered like any run, and the database still refuses a second
    bill for an account and period."""
    today = uow.today()
    run_ids = uow.session.scalars(
        sa.select(BillRun.run_id).where(
            BillRun.status == "completed", sa.func.coalesce(BillRun.retried_on, BillRun.issued_on) < today,
            BillRun.period_end >= today - RETRY_FOR,
            sa.exists().where(BillRunAccount.run_id == BillRun.run_id, BillRunAccount.outcome == "exception"))
        .order_by(BillRun.run_id).with_for_update(skip_locked=True)).all()
    if not run_ids:
        return []
    uow.session.execute(sa.update(RUN_ACCOUNTS).where(RUN_ACCOUNTS.c.run_id.in_(run_ids),
                                                      RUN_ACCOUNTS.c.outcome == "exception")
                        .values(outcome=None, reason=None))
    uow.session.execute(sa.update(RUNS).where(RUNS.c.run_id.in_(run_ids)).values(status="running", retried_on=today))
    uow.commit()
    log.info("bill runs %s: exceptions tried again", ", ".join(run_ids))
    return list(run_ids)


@dataclass(frozen=True)
class RunPeriod:
    """What a run bills, read once (ORM rows do not outlive their unit of work)."""
    run_id: str
    cycle: str
    period_start: date
    period_end: date
    issued_on: date


def _fix_accounts(uow, run: BillRun) -> None:
    """The run covers the cycle's accounts in service during the period, as they are now: open
    ones opened by its end, and ones closed inside it (their closing bill)."""
    in_service = sa.or_(Account.status == "open",
                        sa.and_(Account.status == "closed", Account.closed_on >= run.period_start))
    population = sa.select(sa.literal(run.run_id), Account.account_id).where(
        Account.bill_cycle == run.cycle, in_service, Account.opened_on <= run.period_end)
    uow.session.execute(insert(RUN_ACCOUNTS).from_select(["run_id", "account_id"], population)
                        .on_conflict_do_nothing())
    run.status = "running"


@dataclass(frozen=True)
class AccountToBill:
    account_id: str
    customer_class: str
    dwelling_units: int = 1
    attributes: dict | None = None
    opened_on: date | None = None
    closed_on: date | None = None

    def service_period(self, period: Period) -> Period | None:
        """The days of `period` the account had service (None: none): an opening or closing bill is
        prorated. Service runs from the start of opened_on through the end of closed_on, its last day."""
        start = max(period.start, self.opened_on) if self.opened_on else period.start
        end = min(period.end, self.closed_on) if self.closed_on else period.end
        if end < start:  # closed before the period, after the run fixed its accounts
            return None
        return period if (start, end) == (period.start, period.end) else Period(start, end)


class RunTariffs:
    """The stored tariffs compiled once per customer class and service period (the run's period,
    or an opening/closing account's part of it)."""

    def __init__(self, tariffs: list[Tariff], period: Period):
        self.tariffs, self.period = tariffs, period
        self._plans: dict[tuple[str, Period], BillPlan | CannotBill] = {}

    def plan(self, customer_class: str, period: Period | None = None) -> BillPlan:
        key = (customer_class, period or self.period)
        if key not in self._plans:
            try:
                self._plans[key] = BillPlan(self.tariffs, *key)
            except CannotBill as reason:
                self._plans[key] = reason
        found = self._plans[key]
        if isinstance(found, CannotBill):
            raise found
        return found


def _accounts_to_bill(uow_factory, run: RunPeriod, after: str) -> list[AccountToBill]:
    """The next accounts (by id, after `after`) this run has neither billed nor excepted.

    Only exceptions are recorded per account: an account is billed when the run's bill for it
    exists, so a restarted run skips what it billed before the crash.
    """
    billed = sa.select(Bill.bill_id).where(
        Bill.account_id == BillRunAccount.account_id, Bill.period_start == run.period_start,
        Bill.period_end == run.period_end, Bill.bill_run_id == run.run_id)
    with uow_factory() as uow:
        rows = uow.session.execute(
            sa.select(Account.account_id, Account.customer_class, Account.dwelling_units, Account.attributes,
                      Account.opened_on, Account.closed_on)
            .join(BillRunAccount, BillRunAccount.account_id == Account.account_id)
            .where(BillRunAccount.run_id == run.run_id, BillRunAccount.outcome.is_(None),
                   BillRunAccount.account_id > after, ~billed.exists())
            .order_by(BillRunAccount.account_id).limit(METERING_BATCH)).all()
    return [AccountToBill(*row) for row in rows]


@dataclass
class Consumption:
    determinants: dict[str, dict]
    missing: dict[str, str]


CONSUMPTION_RESPONSE = "metering.consumption_response.v3"
_DETERMINANT_FIELDS = get_contract(CONSUMPTION_RESPONSE).schema().fields["determinants"].inner.schema.fields
BILLED_FROM = ("account_id", "meter_size", "consumption", "unit", "start_read", "end_read", "true_ups")  # what a bill is calculated from
# Bill an estimate where a register has no actual end read (metering estimates from the meter's
# history and trues the estimate up on a later bill); off: such accounts are run exceptions.
ESTIMATE_MISSING_READS = config.env("CIS_BILL_RUN_ESTIMATE_MISSING_READS", "true") == "true"


def _fetch_by_service_period(fetch_determinants: DeterminantsFetcher, period: Period,
                             batch: list[AccountToBill]) -> Consumption:
    """Each account's use over its days of service in the period (an opening or closing account's
    part of it), so a closing bill and the next customer's opening bill on the same connection
    split the meter's advance at the boundary instant instead of both taking the whole period's."""
    by_period: dict[Period, list[str]] = {}
    found = Consumption({}, {})
    for account in batch:
        service = account.service_period(period)
        if service is None:
            found.missing[account.account_id] = f"no service in the period (closed on {account.closed_on})"
        else:
            by_period.setdefault(service, []).append(account.account_id)
    for service_period, account_ids in by_period.items():
        part = _fetch(fetch_determinants, service_period, account_ids)
        found.determinants.update(part.determinants)
        found.missing.update(part.missing)
    return found


def _fetch(fetch_determinants: DeterminantsFetcher, period: Period, account_ids: list[str]) -> Consumption:
    response = fetch_determinants({"period_start": period.start.isoformat(),
                                   "period_end": period.end.isoformat(), "account_ids": account_ids,
                                   "estimate_missing_reads": ESTIMATE_MISSING_READS})
    # The whole contract is checked on the first determinant (loading 10,000 nested records costs
    # more than billing them); every determinant's fields a bill is calculated from are checked.
    loaded = validate(CONSUMPTION_RESPONSE, {**response, "determinants": response["determinants"][:1]})
    not_billable = {m["account_id"]: m["reason"] for m in loaded["missing"]}
    not_billable.update((held["account_id"], f"held by metering: {held['reason']}") for held in loaded["held"])
    billable = {}
    for determinant in response["determinants"]:
        try:
            billable[determinant["account_id"]] = _billable(determinant)
        except InvalidMessage as error:  # that account's exception: the others are billed
            if isinstance(determinant.get("account_id"), str):
                not_billable[determinant["account_id"]] = str(error)[:REASON_LIMIT]
    return Consumption(billable, not_billable)


def _billable(determinant: dict) -> dict:
    billable = {}
    for name in BILLED_FROM:
        try:
            billable[name] = _DETERMINANT_FIELDS[name].deserialize(determinant.get(name, missing))
        except ValidationError as error:
            raise InvalidMessage(f"{CONSUMPTION_RESPONSE}: determinants[account_id={determinant.get('account_id')!r}]"
                                 f".{name}: {error.messages}") from error
    # An earlier estimate corrected by actual reads is billed on this bill as a true-up
    # (domain/true_ups.py): together with this period's use, the register's advance since the last billed read.
    return billable


# --- one chunk, one transaction -------------------------------------------------------------

@dataclass(frozen=True)
class DraftBill:
    account_id: str
    lines: list[Line]

    @property
    def total(self) -> Decimal:
        return bill_total(self.lines)


def bill_chunk(uow, run: RunPeriod, tariffs: RunTariffs, accounts: list[AccountToBill],
               consumption: Consumption) -> None:
    account_ids = [a.account_id for a in accounts]
    # Lock the ledgers (as payments and adjustments do) so each bill's balance_due is exact.
    lock_ledgers(uow.session, account_ids)
    drafts, exceptions = [], {}
    other_bills = _other_bills(uow, run, account_ids)
    earlier = _earlier_bills(uow, run, [a for a in accounts if consumption.determinants.get(a.account_id, {})
                                        .get("true_ups")])
    for account in accounts:
        try:
            if overlap := overlapping_bill(run.period_start, run.period_end, other_bills.get(account.account_id, [])):
                raise CannotBill(overlap)
            drafts.append(draft_bill(account, tariffs, consumption, earlier.get(account.account_id, [])))
        except CannotBill as reason:
            exceptions[account.account_id] = str(reason)
        except Exception as error:  # noqa: BLE001 - a bug met by one account is that account's exception
            # The calculation touches nothing but its inputs: the rest of the chunk is billed, and the
            # run completes instead of failing the chunk on every retry.
            log.exception("bill run %s: account %s could not be calculated", run.run_id, account.account_id)
            exceptions[account.account_id] = unexpected_reason(error)
    issued = _insert_bills(uow, run, drafts)
    for draft in drafts:
        if draft.account_id not in issued:
            exceptions[draft.account_id] = "already billed for this period"
    _record_exceptions(uow, run.run_id, exceptions)


REASON_LIMIT = 500  # a run exception's reason is read by staff, not a traceback


def unexpected_reason(error: Exception) -> str:
    return f"unexpected error, reported to support: {type(error).__name__}: {error}"[:REASON_LIMIT]


def _other_bills(uow, run: RunPeriod, account_ids: list[str]) -> dict[str, list[tuple]]:
    """The accounts' bills of other runs whose periods overlap this run's (bill_id, start, end)."""
    rows = uow.session.execute(
        sa.select(Bill.account_id, Bill.bill_id, Bill.period_start, Bill.period_end).where(
            Bill.account_id.in_(account_ids), Bill.period_start <= run.period_end,
            Bill.period_end >= run.period_start, Bill.bill_run_id != run.run_id)).all()
    found: dict[str, list[tuple]] = {}
    for account_id, *bill in rows:
        found.setdefault(account_id, []).append(tuple(bill))
    return found


def draft_bill(account: AccountToBill, tariffs: RunTariffs, consumption: Consumption,
               earlier: list[EarlierBill] = ()) -> DraftBill:
    """The engine's lines for one account, then its true-ups' lines (domain/true_ups.py: an earlier
    estimate re-rated at the price it was billed at); missing determinants are an exception, never a zero bill."""
    determinant = consumption.determinants.get(account.account_id)
    if determinant is None:
        raise CannotBill(consumption.missing.get(account.account_id, "metering returned no determinants"))
    attributes = account_attributes(account.customer_class, determinant["meter_size"], account.dwelling_units,
                                    account.attributes or {})
    plan = tariffs.plan(account.customer_class, account.service_period(tariffs.period))
    hcf = [convert(determinant[name], determinant["unit"], "HCF") for name in ("consumption", "start_read", "end_read")]
    corrected = [t for t in determinant["true_ups"] if t["difference"] != 0]
    use, difference = true_ups.rounded_at_the_boundaries(
        *hcf, [t["difference"] for t in corrected], plan.last.consumption_rounding
        if plan.last.billing_unit in ("HCF", "CCF") else None)
    # A determinant's true-ups all correct the estimates its period starts from (one instant).
    use, reratings = true_ups.settle([(_estimated_period_end(corrected[0]), difference)] if difference else [],
                                     use, list(earlier), plan.increment)
    lines = plan.lines(attributes, Determinants(use, "HCF"))
    for rerating, true_up in zip(reratings, _true_up_names(reratings, determinant)):
        bill = rerating.bill
        rated = tariffs.plan(account.customer_class, bill.period) if bill else plan
        label = (f"True-up of estimated bill {bill.bill_id} ({bill.period.start.isoformat()} to "
                 f"{bill.period.end.isoformat()})") if bill else "True-up of an estimate no bill of this account billed"
        lines.extend(true_ups.correction_lines(rated, attributes, rerating, label, true_up))
    draft = DraftBill(account.account_id, lines)
    if abs(draft.total) >= MONEY_LIMIT:  # no contract carries it: a meter or tariff error, for staff
        raise CannotBill(f"bill total {draft.total} is beyond the District's money range (below {MONEY_LIMIT})")
    return draft


def _estimated_period_end(true_up: dict) -> date:
    """The last day of the period an estimate ended: estimates are made at a period end's midnight."""
    at = true_up["estimated_read_at"]
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return at.date() - timedelta(days=1)


def _true_up_names(reratings: list, determinant: dict) -> list[str]:
    estimates = ",".join(str(t["estimate_id"]) for t in determinant["true_ups"])
    return [r.bill.bill_id if r.bill else f"estimate {estimates}" for r in reratings]


def _earlier_bills(uow, run: RunPeriod, accounts: list[AccountToBill]) -> dict[str, list[EarlierBill]]:
    """The accounts' bills before this run's period, each with the HCF it has billed so far: its own
    usage lines plus the true-up lines of later bills that re-rated it."""
    if not accounts:
        return {}
    by_id = {a.account_id: a for a in accounts}
    bills = uow.session.execute(sa.select(Bill.bill_id, Bill.account_id, Bill.period_start, Bill.period_end).where(
        Bill.account_id.in_(list(by_id)), Bill.period_end < run.period_start)).all()
    lines = uow.session.execute(sa.select(BillLine.bill_id, BillLine.true_up_of, BillLine.rule, BillLine.quantity,
                                          BillLine.unit).where(BillLine.bill_id.in_([b.bill_id for b in bills]),
                                                               BillLine.rule.in_(USAGE_RULES))).all()
    usage: dict[str, list] = {}
    for line in lines:
        usage.setdefault(line.true_up_of or line.bill_id, []).append((line.rule, line.quantity, line.unit))
    found: dict[str, list[EarlierBill]] = {}
    for bill in bills:
        served = by_id[bill.account_id].service_period(Period(bill.period_start, bill.period_end))
        if served is not None:
            found.setdefault(bill.account_id, []).append(
                EarlierBill(bill.bill_id, served, true_ups.usage_hcf(usage.get(bill.bill_id, []))))
    return found


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
    issued = bulk.insert_bills(uow.session, run.run_id, run.period_start, run.period_end, run.issued_on, due_on,
                               [(row["bill_id"], row["account_id"], row["total"]) for row in rows])
    new = [(row, draft) for row, draft in zip(rows, drafts) if issued.get(draft.account_id) == row["bill_id"]]
    if not new:
        return {}
    line_rows = [_line_row(row["bill_id"], line_no, line)
                 for row, draft in new for line_no, line in enumerate(draft.lines, start=1)]
    insert_rows(uow.session, "bill_lines", LINE_COLUMNS, [tuple(r[c] for c in LINE_COLUMNS) for r in line_rows])
    insert_rows(uow.session, "ledger_entries", LEDGER_COLUMNS,
                [(row["account_id"], "bill", row["total"], run.issued_on, row["bill_id"]) for row, _ in new])
    balance_after = balances(uow, [row["account_id"] for row, _ in new])
    lines_by_bill: dict[str, list[dict]] = {}
    for line_row in line_rows:
        lines_by_bill.setdefault(line_row["bill_id"], []).append(_line_payload(line_row))
    uow.emit_many("billing.bill_issued.v1", [
        {**row, "balance_due": balance_after[row["account_id"]], "lines": lines_by_bill[row["bill_id"]]}
        for row, _ in new])
    return {row["account_id"]: row["bill_id"] for row, _ in new}


LINE_COLUMNS = {"bill_id": "text", "line_no": "integer", "description": "text", "quantity": "numeric",
                "unit": "text", "rate": "numeric", "amount": "numeric", "rule": "text", "tariff_id": "text",
                "tariff_version": "integer", "charge": "text", "tier_from": "numeric", "tier_to": "numeric",
                "days": "integer", "proration": "text", "true_up_of": "text"}
LEDGER_COLUMNS = {"account_id": "text", "kind": "text", "amount": "numeric", "posted_on": "date", "reference": "text"}


def _line_row(bill_id: str, line_no: int, line: Line) -> dict:
    tariff_id, version = line.tariff.rsplit("@", 1)
    return {"bill_id": bill_id, "line_no": line_no, "description": line.description, "quantity": line.quantity,
            "unit": line.unit, "rate": line.rate, "amount": line.amount, "rule": line.rule,
            "tariff_id": tariff_id, "tariff_version": int(version), "charge": line.charge,
            "tier_from": line.tier_from, "tier_to": line.tier_to, "days": line.days, "proration": line.proration,
            "true_up_of": line.true_up_of}


def _line_payload(row: dict) -> dict:
    return {"line_no": row["line_no"], "description": row["description"], "quantity": row["quantity"],
            "unit": row["unit"], "rate": row["rate"], "amount": row["amount"], "rule": row["rule"],
            "tariff": f"{row['tariff_id']}@{row['tariff_version']}"}


def _record_exceptions(uow, run_id: str, exceptions: dict[str, str]) -> None:
    if exceptions:
        uow.session.execute(
            sa.update(RUN_ACCOUNTS).where(RUN_ACCOUNTS.c.run_id == sa.bindparam("run"),
                                          RUN_ACCOUNTS.c.account_id == sa.bindparam("account"))
            .values(outcome="exception", reason=sa.bindparam("why")),
            [{"run": run_id, "account": account_id, "why": reason} for account_id, reason in exceptions.items()])
