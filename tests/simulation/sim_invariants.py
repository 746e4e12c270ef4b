"""The invariants, checked after each simulated day once everything is drained.

Each is restated from the law or the money rule, independently of the engines: the facts come from
the simulation's own record (what it measured, sent and did), the observer queue, the mail-house
drop, and set-based SQL over the services' databases (read-only). A check names its section.
A violation is kept with the day, the account and what; the run goes on so the report shows them all.
"""
import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

CALENDAR = Path(__file__).resolve().parents[2] / "services" / "collections" / "cis_collections" / "data" / "calendar"
ACRE_FOOT_HCF = Decimal("435.6")
USAGE_RULES = ("volumetric", "tiered", "budget_tiered", "wholesale")

INVARIANTS = {
    "water_billed_once": "per account, HCF billed over the run (with true-ups) = last read minus first "
                         "(a reverse flow netted against later use)",
    "ledger_identity": "billing's balance = bills + debits - payments - credits",
    "collections_agrees_with_billing": "collections' balance per account = billing's, queues drained",
    "no_penalty_when_paid_by_due": "no late penalty on a bill paid by its due date",
    "no_notice_when_paid_by_due": "no collection notice for a bill paid by its due date",
    "no_notice_for_undelivered_bill": "no collection notice for a bill never delivered (sent or mailed)",
    "every_bill_delivered": "every bill mailed on paper, or emailed when the customer chose paperless",
    "hsc_116908_60_days_delinquent": "no shutoff before the oldest unpaid bill is 60 days delinquent",
    "hsc_116908_7_business_days_notice": "shutoff notice given at least 7 business days before",
    "gov_60373_notice_19_days_after_bill": "shutoff notice mailed no earlier than 19 days after the bill",
    "gov_60373_10_days_after_5_day_mail_grace": "no shutoff before notice mailed + 5 + 10 days",
    "gov_60373_48_hour_notice": "adult reached or 48-hour notice posted at least 2 days before the shutoff",
    "gov_60374_no_weekend_holiday_shutoff": "no shutoff on a Saturday, Sunday or District holiday",
    "hsc_116910_medical_and_plan": "no shutoff with a medical certification and a plan kept",
    "hsc_116910_b_plan_default_5_business_days": "after a plan default: final notice posted 5 business days before",
    "hsc_116916_tenant_10_days": "tenant-occupied: tenants notified at least 10 days before",
    "no_shutoff_for_another_accounts_debt": "no shutoff of a connection now serving another account",
    "outbox_published_once": "every outbox event published (observed on cis.events) once; more than once only "
                             "from a service killed that day (at least once, applied once)",
    "consumer_effect_once": "every consumer effect applied once (bills, payments, adjustments, letters, batches)",
    "no_dead_letters": "no message ended in a dead-letter queue",
}


@dataclass
class Violation:
    invariant: str
    day: date
    account: str | None
    what: str

    def __str__(self):
        return f"{self.invariant} on {self.day} account {self.account or '-'}: {self.what}"


def district_closed_days() -> set[date]:
    closed = set()
    for path in CALENDAR.glob("*.json"):
        data = json.loads(path.read_text())
        for key in ("legal_holidays", "district_closures"):
            closed |= {date.fromisoformat(d) for d in data.get(key, {})}
    return closed


class Checker:
    def __init__(self, sim):
        self.sim = sim
        self.h = sim.h
        self.checks = Counter()
        self.violations: list[Violation] = []
        self.seen = set()  # (invariant, key) already reported: one violation is reported once
        self.outbox_after = {s: 0 for s in ("accounts", "metering", "billing", "collections", "notifications")}
        self.closed_days = district_closed_days()
        self.shutoffs_checked = 0
        self.republished_after_crash = 0

    def violate(self, invariant: str, key, account, what: str) -> None:
        if (invariant, key) in self.seen:
            return
        self.seen.add((invariant, key))
        self.violations.append(Violation(invariant, self.sim.today, account, what))

    def count(self, invariant: str, n: int = 1) -> None:
        self.checks[invariant] += n

    def business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closed_days

    # --- each day -------------------------------------------------------------------------------

    def after_day(self, today: date) -> None:
        self.outbox_published_once()
        self.ledger_identity()
        self.collections_agrees()
        self.dead_letters()
        if today.day == 2 or today.day % 5 == 0:
            self.paid_by_due()
            self.undelivered_bills()
            self.every_bill_delivered()
            self.effects_once()
        if today.day == 2:
            self.water_billed_once()
        self.shutoffs()

    def final(self) -> None:
        self.paid_by_due()
        self.undelivered_bills()
        self.every_bill_delivered()
        self.effects_once()
        self.water_billed_once()

    # --- money --------------------------------------------------------------------------------------

    def ledger_identity(self) -> None:
        rows = self.h.query("billing", """
            with l as (select account_id, sum(amount) s from ledger_entries group by 1),
                 b as (select account_id, sum(total) s from bills group by 1),
                 p as (select account_id, sum(amount) s from payments group by 1),
                 a as (select account_id, sum(amount) s from adjustments group by 1)
            select acc.account_id, coalesce(l.s, 0), coalesce(b.s, 0), coalesce(p.s, 0), coalesce(a.s, 0)
            from accounts acc left join l using (account_id) left join b using (account_id)
                 left join p using (account_id) left join a using (account_id)""")
        self.count("ledger_identity", len(rows))
        for account, ledger, bills, payments, adjustments in rows:
            if ledger != bills + adjustments - payments:
                self.violate("ledger_identity", (account, ledger), account,
                             f"ledger {ledger} != bills {bills} + adjustments {adjustments} - payments {payments}")

    def billing_balances(self) -> dict:
        return dict(self.h.query("billing", "select account_id, coalesce(sum(amount), 0) from ledger_entries group by 1"))

    def collections_agrees(self) -> None:
        billing = self.billing_balances()
        collections = dict(self.h.query("collections", """
            select a.account_id, coalesce(sum(r.amount - r.paid), 0) - a.credit
            from collection_accounts a left join receivables r using (account_id)
            group by a.account_id, a.credit"""))
        self.count("collections_agrees_with_billing", len(billing))
        for account, balance in billing.items():
            theirs = collections.get(account)
            if theirs is None and balance == 0:
                continue
            if theirs != balance:
                self.violate("collections_agrees_with_billing", (account, balance, theirs), account,
                             f"billing balance {balance}, collections' view {theirs}")

    def paid_by_due_bills(self) -> set[str]:
        """Bills the customer paid by the due date: every charge up to and including the bill is covered
        by payments and credits received on or before its due date (a returned check never paid)."""
        rows = self.h.query("billing", """
            with charges as (
                select account_id, issued_on as on_, total as amount from bills
                union all select account_id, posted_on, amount from adjustments
                    where amount > 0 and not (kind = 'debit' and reference = 'returned_payment')),
            credits as (
                select account_id, received_on as on_, amount from payments
                union all select account_id, posted_on, -amount from adjustments where amount < 0
                union all select account_id, date '1900-01-01', -amount from adjustments
                    where kind = 'debit' and reference = 'returned_payment')
            select b.bill_id from bills b
            left join (select b.bill_id, sum(c.amount) owed from bills b join charges c
                       on c.account_id = b.account_id and c.on_ <= b.issued_on group by b.bill_id) o using (bill_id)
            left join (select b.bill_id, sum(p.amount) paid from bills b join credits p
                       on p.account_id = b.account_id and p.on_ <= b.due_on group by b.bill_id) p using (bill_id)
            where b.total > 0 and coalesce(o.owed, 0) - coalesce(p.paid, 0) <= 0""")
        return {bill_id for (bill_id,) in rows}

    def paid_by_due(self) -> None:
        paid = self.paid_by_due_bills()
        penalties = self.h.query("billing", "select bill_id, account_id, adjustment_id, amount, posted_on from adjustments "
                                            "where kind = 'late_penalty' and bill_id is not null")
        self.count("no_penalty_when_paid_by_due", len(paid))
        for bill_id, account, adjustment_id, amount, posted_on in penalties:
            if bill_id in paid:
                self.violate("no_penalty_when_paid_by_due", adjustment_id, account,
                             f"late penalty {adjustment_id} ({amount}, {posted_on}) on {bill_id}, paid by its due date")
        notices = self.h.query("collections", "select notice_id, account_id, kind, requested_on, unnest(bill_ids) "
                                              "from notices")
        self.count("no_notice_when_paid_by_due", len(paid))
        for notice_id, account, kind, requested_on, bill_id in notices:
            if bill_id in paid:
                self.violate("no_notice_when_paid_by_due", (notice_id, bill_id), account,
                             f"{kind} notice {notice_id} ({requested_on}) lists {bill_id}, paid by its due date")

    def every_bill_delivered(self) -> None:
        sent = defaultdict(set)
        for message_id, channel in self.h.query("notifications", "select source_message_id, channel from deliveries "
                                                                 "where kind = 'bill_notice' and status = 'sent'"):
            sent[message_id].add(channel)
        for message_id, bill_id in self.sim.bill_messages.items():
            bill = self.sim.bills[bill_id]
            if date.fromisoformat(bill["issued_on"]) >= self.sim.today:
                continue
            self.count("every_bill_delivered")
            account = self.sim.by_id.get(bill["account_id"])
            paperless = account is not None and account.customer.paperless
            channels = sent.get(message_id, set())
            if not channels or (not paperless and "mail" not in channels):
                self.violate("every_bill_delivered", bill_id, bill["account_id"],
                             f"bill {bill_id} issued {bill['issued_on']} ({'paperless' if paperless else 'paper'}): "
                             f"delivered by {sorted(channels) or 'nothing'}")

    def undelivered_bills(self) -> None:
        delivered_messages = {m for (m,) in self.h.query(
            "notifications", "select source_message_id from deliveries where kind = 'bill_notice' and status = 'sent'")}
        delivered = {bill for message, bill in self.sim.bill_messages.items() if message in delivered_messages}
        notices = self.h.query("collections", "select notice_id, account_id, kind, requested_on, unnest(bill_ids) "
                                              "from notices")
        self.count("no_notice_for_undelivered_bill", len(notices))
        for notice_id, account, kind, requested_on, bill_id in notices:
            if bill_id in self.sim.bills and bill_id not in delivered:
                self.violate("no_notice_for_undelivered_bill", (notice_id, bill_id), account,
                             f"{kind} notice {notice_id} ({requested_on}) for {bill_id}, never delivered")

    # --- water --------------------------------------------------------------------------------------

    def water_billed_once(self) -> None:
        rows = self.h.query("billing", f"""
            select b.account_id, max(b.period_end),
                   coalesce(sum(case when l.unit = 'acre_feet' then l.quantity * {ACRE_FOOT_HCF} else l.quantity end)
                            filter (where l.rule in {USAGE_RULES}), 0)
            from bills b left join bill_lines l using (bill_id) group by b.account_id""")
        pending = 0
        for account_id, last_end, billed in rows:
            account = self.sim.by_id.get(account_id)
            if account is None:
                continue
            boundary = last_end + timedelta(days=1)
            if account.closed_on is not None and account.closed_on < last_end:
                boundary = account.closed_on + timedelta(days=1)
            measured = billable(account, boundary)
            if measured is None or boundary in account.site.meter_at(boundary).untrue:
                pending += 1  # the period ended on an estimate: its true-up is still to come
                continue
            self.count("water_billed_once")
            if round(Decimal(billed), 3) != Decimal(measured):  # acre-feet lines come back to HCF
                self.violate("water_billed_once", (account_id, last_end), account_id,
                             f"billed {round(Decimal(billed), 3)} HCF through {last_end}, measured {measured} HCF since "
                             f"{account.opened_on} (meter {account.site.meter.serial}"
                             f"{', fault ' + account.site.meter.fault if account.site.meter.fault else ''}); "
                             + self.periods_apart(account))
        self.pending_true_ups = pending

    def periods_apart(self, account) -> str:
        """The first bill whose usage differs from what was measured over its period, or the first days
        of service no bill covers."""
        rows = self.h.query("billing", f"""
            select b.bill_id, b.period_start, b.period_end,
                   coalesce(sum(case when l.unit = 'acre_feet' then l.quantity * {ACRE_FOOT_HCF} else l.quantity end)
                            filter (where l.rule in {USAGE_RULES}), 0)
            from bills b left join bill_lines l using (bill_id) where b.account_id = :a
            group by 1, 2, 3 order by 2""", a=account.account_id)
        covered_to = account.opened_on
        for bill_id, start, end, billed in rows:
            if start > covered_to:
                return f"no bill for {covered_to}..{start - timedelta(days=1)}"
            covered_to = end + timedelta(days=1)
            begin = max(start, account.opened_on)
            finish = end + timedelta(days=1)
            if account.closed_on is not None and account.closed_on < end:
                finish = account.closed_on + timedelta(days=1)
            if begin in account.measured and finish in account.measured:
                measured = billable(account, finish) - billable(account, begin)
                if round(Decimal(billed), 3) != measured:
                    return f"first: {bill_id} {start}..{end} billed {round(Decimal(billed), 3)}, measured {measured}"
        return "no single bill differs (the difference is across periods)"

    # --- shutoffs --------------------------------------------------------------------------------------

    def shutoffs(self) -> None:
        orders = self.sim.shutoff_orders[self.shutoffs_checked:]
        if not orders:
            return
        self.shutoffs_checked = len(self.sim.shutoff_orders)
        mailed = self.mailed_documents()
        for order in orders:
            self.shutoff(order, mailed)

    def mailed_documents(self) -> dict:
        """notice_id -> (kind, mailed day) from the mail house's manifests, and account -> tenant letters."""
        found = {}
        for manifest in Path(self.h.mail_drop).glob("*/manifest.csv"):
            with manifest.open(newline="") as rows:
                for row in csv.DictReader(rows):
                    found.setdefault(row["notice_id"], []).append(
                        (row["kind"], date.fromisoformat(row["dropped_on"]), row["account_id"], row["channel"]))
        return found

    def shutoff(self, order: dict, mailed: dict) -> None:
        account_id = order["account_id"]
        day = date.fromisoformat(order["scheduled_on"])
        account = self.sim.by_id.get(account_id)
        key = order["order_id"]
        for invariant in INVARIANTS:
            if invariant.startswith(("hsc_", "gov_", "no_shutoff")):
                self.count(invariant)
        if not self.business_day(day):
            self.violate("gov_60374_no_weekend_holiday_shutoff", key, account_id,
                         f"shutoff {key} scheduled on {day} ({day.strftime('%A')}, or a District holiday)")
        if account is not None and (account.closed_on is not None or account.site.current not in (None, account)):
            self.violate("no_shutoff_for_another_accounts_debt", key, account_id,
                         f"shutoff {key} at {order.get('service_address')} on {day}: account closed {account.closed_on}, "
                         f"the connection serves {getattr(account.site.current, 'account_id', None)}")
        if account is not None and account.medical and account.plan == "kept":
            self.violate("hsc_116910_medical_and_plan", key, account_id,
                         f"shutoff {key} on {day} with a medical certification and a plan being kept")
        oldest_unpaid_due = self.oldest_unpaid_due(account_id, day)
        if oldest_unpaid_due is None or day < oldest_unpaid_due + timedelta(days=1 + 60):
            self.violate("hsc_116908_60_days_delinquent", key, account_id,
                         f"shutoff {key} on {day}; oldest unpaid bill due {oldest_unpaid_due}")
        if "116910" in str(order.get("rule")) or (account is not None and account.plan == "defaulted"):
            self.plan_default_shutoff(order, key, account_id, day)
        else:
            self.noticed_shutoff(order, mailed, key, account_id, day)
        if account is not None and account.tenant_occupied:
            tenant_letters = [d for docs in mailed.values() for kind, d, acc, _ in docs
                              if acc == account_id and "tenant" in kind]
            if not any(d <= day - timedelta(days=10) for d in tenant_letters):
                self.violate("hsc_116916_tenant_10_days", key, account_id,
                             f"shutoff {key} on {day} of a tenant-occupied rental; tenant notices {tenant_letters}")

    def plan_default_shutoff(self, order, key, account_id, day) -> None:
        """H&S 116910(b): after a plan default, a final notice posted at the premises at least five
        business days before the shutoff (the 60373 mailing regime does not apply)."""
        posted = self.sim.door_hangers.get(account_id, [])
        enough = [p for p in posted if sum(1 for n in range(1, (day - p).days + 1)
                                           if self.business_day(p + timedelta(days=n))) >= 5]
        if not enough:
            self.violate("hsc_116910_b_plan_default_5_business_days", key, account_id,
                         f"plan-default shutoff {key} on {day}; final notices posted {posted}")

    def noticed_shutoff(self, order, mailed, key, account_id, day) -> None:
        """Gov. Code 60373 and H&S 116908(a)(2): the mailed shutoff notice, its timing, the 48-hour notice."""
        notice_id = order.get("notice_id")
        if not notice_id:  # the order names none: the account's last shutoff notice before the date
            rows = self.h.query("collections", "select notice_id from notices where account_id = :a and kind = "
                                               "'shutoff_notice' and requested_on <= :d order by requested_on desc "
                                               "limit 1", a=account_id, d=day)
            notice_id = rows[0][0] if rows else None
        documents = mailed.get(notice_id, []) if notice_id else []
        mailed_on = min((d for kind, d, _, channel in documents if channel == "mail"), default=None)
        if mailed_on is None and notice_id:
            rows = self.h.query("collections", "select given_on from notices where notice_id = :n", n=notice_id)
            mailed_on = rows[0][0] if rows else None
        if mailed_on is None:
            self.violate("gov_60373_10_days_after_5_day_mail_grace", key, account_id,
                         f"shutoff {key} on {day}: no mailed shutoff notice found (notice {notice_id})")
        else:
            if day < mailed_on + timedelta(days=15):
                self.violate("gov_60373_10_days_after_5_day_mail_grace", key, account_id,
                             f"shutoff {key} on {day}, notice {notice_id} mailed {mailed_on}")
            business_days = sum(1 for n in range(1, (day - mailed_on).days + 1)
                                if self.business_day(mailed_on + timedelta(days=n)))
            if business_days < 7:
                self.violate("hsc_116908_7_business_days_notice", key, account_id,
                             f"shutoff {key} on {day}, notice mailed {mailed_on}: {business_days} business days")
            bills = self.h.query("collections", "select unnest(bill_ids) from notices where notice_id = :n", n=notice_id)
            for (bill_id,) in bills:
                bill = self.sim.bills.get(bill_id)
                if bill and mailed_on < date.fromisoformat(bill["issued_on"]) + timedelta(days=19):
                    self.violate("gov_60373_notice_19_days_after_bill", (key, bill_id), account_id,
                                 f"notice {notice_id} mailed {mailed_on}, bill {bill_id} issued {bill['issued_on']}")
        posted = self.sim.door_hangers.get(account_id, []) + self.sim.adults_reached.get(account_id, [])
        if not any(p <= day - timedelta(days=2) for p in posted):
            self.violate("gov_60373_48_hour_notice", key, account_id,
                         f"shutoff {key} on {day}; door hangers posted or adults reached {posted}")

    def oldest_unpaid_due(self, account_id: str, as_of: date):
        """First-in first-out: payments and credits received by `as_of` pay the oldest charges first."""
        charges = self.h.query("billing", "select due_on, total from bills where account_id = :a and issued_on <= :d "
                                          "order by issued_on, bill_id", a=account_id, d=as_of)
        [(credit,)] = self.h.query("billing", """
            select coalesce((select sum(amount) from payments where account_id = :a and received_on <= :d), 0)
                 - coalesce((select sum(amount) from adjustments where account_id = :a and posted_on <= :d
                             and (amount < 0 or (kind = 'debit' and reference = 'returned_payment'))), 0)""", a=account_id, d=as_of)
        for due_on, total in charges:
            credit -= total
            if credit < 0:
                return due_on
        return None

    # --- the plumbing: events and effects -------------------------------------------------------------

    def outbox_published_once(self) -> None:
        for service, after in self.outbox_after.items():
            rows = self.h.query(service, "select id, message_id::text, message_name, sent_at is not null from outbox "
                                         "where id > :after and exchange = 'cis.events' order by id", after=after)
            self.count("outbox_published_once", len(rows))
            crashed = (service, self.sim.today) in self.sim.killed
            for row_id, message_id, name, sent in rows:
                seen = self.sim.observed.get(message_id, 0)
                if crashed and sent and seen > 1:
                    # The relay was killed between the broker's confirm and marking the row sent: it publishes
                    # again on restart (no relay can do both in one step); consumer_effect_once checks each
                    # consumer applied it once.
                    self.republished_after_crash += 1
                    continue
                if not sent or seen != 1:
                    self.violate("outbox_published_once", message_id, None,
                                 f"{service} outbox {name} {message_id}: sent={sent}, observed {seen} times")
            if rows:
                self.outbox_after[service] = rows[-1][0]

    def effects_once(self) -> None:
        billing_bills = dict(self.h.query("billing", "select bill_id, total from bills"))
        receivables = dict(self.h.query("collections", "select bill_id, amount from receivables where not adjustment"))
        self.count("consumer_effect_once", len(billing_bills))
        for bill_id, total in billing_bills.items():
            if receivables.get(bill_id) != total:
                account = self.sim.bills.get(bill_id, {}).get("account_id")
                self.violate("consumer_effect_once", ("receivable", bill_id), account,
                             f"bill {bill_id} {total}: collections' receivable {receivables.get(bill_id)}")
        payments = dict(self.h.query("billing", "select payment_id, amount from payments"))
        theirs = dict(self.h.query("collections", "select payment_id, amount from payments"))
        self.count("consumer_effect_once", len(payments))
        for payment_id, amount in payments.items():
            if theirs.get(payment_id) != amount:
                self.violate("consumer_effect_once", ("payment", payment_id), None,
                             f"payment {payment_id} {amount}: collections has {theirs.get(payment_id)}")
        doubled = self.h.query("notifications", "select source_message_id, kind, channel, count(*), min(account_id) "
                                                "from deliveries group by 1, 2, 3 having count(*) > 1")
        for message_id, kind, channel, n, account in doubled:
            self.violate("consumer_effect_once", ("delivery", message_id, kind, channel), account,
                         f"{n} {kind} deliveries by {channel} for one message {message_id}")
        batches = {b for (b,) in self.h.query("metering", "select batch_id from ami_batches "
                                                      "where batch_id not like 'sim-interval-%'")}
        self.count("consumer_effect_once", len(self.sim.batches_sent))
        for batch_id in sorted(self.sim.batches_sent - batches):
            self.violate("consumer_effect_once", ("batch", batch_id), None, f"AMI batch {batch_id} never stored")
        [(stored,)] = self.h.query("metering", "select coalesce(sum(read_count), 0) from ami_batches "
                                                 "where batch_id not like 'sim-interval-%'")
        if stored != self.sim.reads_sent:
            self.violate("consumer_effect_once", ("reads", stored, self.sim.reads_sent), None,
                         f"metering counted {stored} reads in its batches, the head-end sent {self.sim.reads_sent} once each")

    def dead_letters(self) -> None:
        self.count("no_dead_letters")
        for queue, n in self.h.dead_letters().items():
            self.violate("no_dead_letters", (queue, n), None, f"{n} message(s) in {queue}")

    # --- the table ----------------------------------------------------------------------------------

    def table(self) -> list[tuple]:
        by = defaultdict(list)
        for violation in self.violations:
            by[violation.invariant].append(violation)
        return [(name, INVARIANTS[name], self.checks[name], len(by[name]), by[name][0] if by[name] else None)
                for name in INVARIANTS]


def billable(account, boundary) -> Decimal | None:
    """The water billable through a period boundary: what the meter measured since the account opened,
    except that a reverse flow is netted against later use rather than credited, so it is the highest
    measured at any month boundary up to this one (metering's end_netting_reverse_flow)."""
    if boundary not in account.measured:
        return None
    return max(value for day, value in account.measured.items() if day <= boundary)

