"""The district year: seed through the gateway, then day by day advance the business date, let the
head-end publish midnight reads, let customers pay (or not), run bill cycles and the collections daily
run, play operations, inject seam faults, drain, and check the invariants.

Only public interfaces drive it: the gateway's HTTP API, the ami.inbound and operations.inbound
exchanges, the operations.work_orders queue, an observer queue on cis.events, and the mail drop.
"""
import json
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from sim_district import START, Account, District
from sim_harness import OBSERVER_QUEUE, ApiError, Harness

PACIFIC = ZoneInfo("America/Los_Angeles")
ROOT = Path(__file__).resolve().parents[2]
TARIFFS = ROOT / "services" / "billing" / "tariffs"
CENT = Decimal("0.01")
READS_PER_MESSAGE = 5000
CYCLE = "1"


def midnight(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=PACIFIC).isoformat()


def money(value) -> str:
    return str(Decimal(value).quantize(CENT, ROUND_HALF_UP))


class Phases:
    """Wall time per phase, for the benchmark and the report."""

    def __init__(self):
        self.seconds = Counter()

    def timed(self, name):
        phases = self

        class Timer:
            def __enter__(self):
                self.started = time.monotonic()

            def __exit__(self, *exc):
                phases.seconds[name] += time.monotonic() - self.started

        return Timer()


class Simulation:
    def __init__(self, harness: Harness, district: District, days: int, checker_factory, log=print):
        self.h = harness
        self.api = harness.api
        self.d = district
        self.rng = district.rng
        self.days = days
        self.log = log
        self.phases = Phases()
        self.day_drains: dict[date, float] = {}  # the day's (first) drain, seconds
        self.lock = threading.Lock()  # for what staff working side by side count
        self.today = START
        self.agenda: dict[date, list] = defaultdict(list)  # day -> [callable]
        self.by_id: dict[str, Account] = {}
        self.bills: dict[str, dict] = {}  # bill_id -> bill_issued payload
        self.bill_messages: dict[str, str] = {}  # bill_issued message_id -> bill_id
        self.observed = Counter()  # message_id -> times seen on the observer queue
        self.events = Counter()  # message name -> count
        self.shutoff_orders: list[dict] = []
        self.work_orders_done = Counter()
        self.batches_sent: set[str] = set()
        self.reads_sent = 0  # reads in distinct batches
        self.door_hangers: dict[str, list] = defaultdict(list)  # account -> days posted
        self.late_reads: dict[date, list] = defaultdict(list)
        self.exceptions_tried: set[int] = set()
        self.contacted: set[tuple] = set()
        self.adults_reached: dict[str, list] = defaultdict(list)
        self.resolutions = Counter()
        self.field_reads: set[str] = set()
        self.kill_days = {}
        self.killed: set[tuple[str, date]] = set()  # (service, day) SIGKILLed
        self.notes: list[str] = []
        self.api_errors: list[str] = []
        self.checker = checker_factory(self)

    # --- seeding ------------------------------------------------------------------------------

    def seed(self) -> None:
        with self.phases.timed("seeding"):
            self.api("PUT", "/business-date", {"business_date": START.isoformat()})
            self.load_tariffs()
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(self.open_first_account, self.d.accounts))
            self.h.drain()
            self.take_events()
        self.log(f"seeded {len(self.d.accounts)} accounts, {len(self.d.meters)} meters "
                 f"in {self.phases.seconds['seeding']:.1f}s")

    def load_tariffs(self) -> None:
        """The District's tariff files, through the gateway, without their sewer charge on the winter
        average (it cannot bill a district whose first winter is still to come); commercial has no file
        and is billed on a copy of the residential tariff."""
        documents = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(TARIFFS.glob("*.yaml"))}
        for document in documents.values():
            charges = [c for c in document["charges"] if c.get("basis") != "winter_average"]
            self.api("POST", "/tariffs", {"document": {**document, "charges": charges}})
        self.api("POST", "/tariffs", {"document": {**documents["residential-demo.v1"], "tariff_id": "commercial-sim",
                                                   "customer_classes": ["commercial"], "version": 1,
                                                   "effective_from": START.isoformat()}})
        # the mid-year rate change: residential version 2 from 2027-01-01 (3 tiers, a surcharge)
        residential_v2 = {**documents["residential-demo.v1"], "version": 2, "effective_from": "2027-01-01",
                          "adopted_by": "Board Resolution 2026-31 (simulation)", "charges": [
                              documents["residential-demo.v1"]["charges"][0],
                              {"rule": "tiered", "description": "Water usage",
                               "tiers": [{"upto": "6", "rate": "3.10"}, {"upto": "15", "rate": "4.20"},
                                         {"rate": "6.85"}]},
                              {"rule": "fixed_surcharge", "description": "Treatment surcharge", "per": "month",
                               "rate": "4.10"}]}
        self.api("POST", "/tariffs", {"document": residential_v2})

    def open_first_account(self, account: Account) -> None:
        site = account.site
        address = {"line1": site.street, "city": "Ojai", "zip": "93023"}
        self.api("POST", "/parcels", {"apn": site.apn, "situs_address": address,
                                      "owner_of_record": f"Owner of {site.apn}"})
        connection = self.api("POST", "/connections", {"apn": site.apn, "authorized_meter_size": site.size,
                                                       "dwelling_units": site.dwelling_units})
        site.connection_id = connection["connection_id"]
        meter = site.meter
        self.api("POST", "/meters", {"serial": meter.serial, "size": meter.size, "register_digits": meter.digits})
        self.api("POST", f"/meters/{meter.serial}/installation", {
            "connection_id": site.connection_id, "installed_on": START.isoformat(),
            "initial_read": str(meter.register())})
        self.open_account(account, START)

    def open_account(self, account: Account, day: date) -> None:
        site = account.site
        customer = account.customer
        body = {"name": customer.name, "email": customer.email,
                "mailing_address": {"line1": site.street, "city": "Ojai", "zip": "93023"}}
        customer.customer_id = self.api("POST", "/customers", body)["customer_id"]
        opened = self.api("POST", "/accounts", {"customer_id": customer.customer_id,
                                                "connection_id": site.connection_id,
                                                "customer_class": account.customer_class,
                                                "opened_on": day.isoformat(), "bill_cycle": CYCLE})
        self.occupy(account, opened["account_id"], day)
        if customer.paperless:
            self.api("PUT", f"/accounts/{account.account_id}/bill-delivery", {"paperless": True, "changed_by": "sim"})
        if account.customer_class == "irrigation":
            self.api("PATCH", f"/accounts/{account.account_id}/attributes", {
                "landscape_area_sqft": str(self.rng.randint(5, 40) * 1000), "changed_by": "sim"})
        if account.tenant_occupied:  # once collections has heard of the account (asynchronously)
            self.agenda[day + timedelta(days=1)].append(("tenant_flag", account))

    def do_tenant_flag(self, account: Account) -> None:
        self.api("PUT", f"/accounts/{account.account_id}/collections/flags",
                 {"tenant_occupied": True, "changed_by": "sim"})

    def occupy(self, account: Account, account_id: str, day: date) -> None:
        account.account_id = account_id
        account.opened_on = day
        account.used = 0
        account.measured[day] = 0
        account.site.current = account
        self.by_id[account_id] = account

    # --- the year --------------------------------------------------------------------------------

    def run(self) -> None:
        self.plan_year()
        for offset in range(1, self.days + 1):
            self.day(START + timedelta(days=offset))
        self.checker.final()

    def plan_year(self) -> None:
        rng = self.rng
        # seam faults: a consumer or engine SIGKILLed mid-day and restarted
        # (the service, at which moment of the day): reads in flight, mid bill run, events in flight
        self.kill_days = {START + timedelta(days=17): ("metering", "after_reads"),
                          START + timedelta(days=63): ("billing", "mid_bill_run"),
                          START + timedelta(days=95): ("collections", "after_daily_run"),
                          START + timedelta(days=130): ("notifications", "after_daily_run")}
        # move-outs followed by move-ins, and transfers (a customer moving to another site)
        residential = [a for a in self.d.accounts if a.customer_class == "residential" and not a.site.meter.fault]
        movers = rng.sample(residential, max(2, len(residential) // 40))
        for index, account in enumerate(movers):
            day = START + timedelta(days=rng.randint(40, max(41, self.days - 40)))
            self.agenda[day].append(("move_out", account))
        transfers = rng.sample([a for a in residential if a not in movers], 2) if len(residential) > 10 else []
        for first, second in zip(transfers[::2], transfers[1::2]):
            self.agenda[START + timedelta(days=min(self.days - 5, 150))].append(("transfer", (first, second)))
        # one meter exchange, and a manual read of each silent meter while it is silent
        plain = [a for a in residential if a not in movers and a not in transfers]
        if plain:
            self.agenda[START + timedelta(days=min(self.days - 3, 120))].append(("exchange", plain[0]))
        for meter in self.d.meters.values():
            if meter.fault == "silent":
                self.agenda[meter.fault_day + timedelta(days=12)].append(("manual_read", meter))

    def day(self, today: date) -> None:
        self.today = today
        yesterday = today - timedelta(days=1)
        with self.phases.timed("business date"):
            self.api("PUT", "/business-date", {"business_date": today.isoformat()})
        with self.phases.timed("reads"):
            self.advance_meters(yesterday)
            self.publish_reads(today)
        self.seam_fault(today, "after_reads")
        actions = self.agenda.pop(today, [])
        with self.phases.timed("customers: payments"):
            payments = [subject for action, subject in actions if action == "pay"]
            with ThreadPoolExecutor(4) as pool:  # customers pay independently of one another
                list(pool.map(lambda subject: self.attempt("pay", subject), payments))
        with self.phases.timed("customers: agenda"):
            for action, subject in actions:
                if action != "pay":
                    self.attempt(action, subject)
        with self.phases.timed("staff: read exceptions"):
            self.review_read_exceptions()
        with self.phases.timed("staff: collections"):
            self.attempt("collections_staff", None)
        if today.day == 2 and today.replace(day=1) > START:
            with self.phases.timed("bill runs"):
                self.bill_run(today)
        with self.phases.timed("daily runs"):
            self.attempt("daily_run", None)  # at its hour, whether or not every event has arrived
        self.seam_fault(today, "after_daily_run")
        with self.phases.timed("drain"):
            self.day_drains[today] = self.h.drain()
        with self.phases.timed("events"):
            self.take_events()
        with self.phases.timed("operations"):
            reported = self.operations()
        if reported:
            with self.phases.timed("drain"):
                self.h.drain()
            with self.phases.timed("events"):
                self.take_events()
        with self.phases.timed("checks"):
            self.checker.after_day(today)

    def seam_fault(self, today: date, moment: str) -> None:
        """SIGKILL a service at this moment of the day if planned, and start it again at once (what
        was in flight stays in its queues, the RPCs wait for the restarted process)."""
        service, when = self.kill_days.get(today, (None, None))
        if when != moment:
            return
        time.sleep(0.3)
        self.h.suite.kill(service)
        self.killed.add((service, today))
        self.h.suite.start(service)
        self.notes.append(f"{today}: {service} SIGKILLed ({moment.replace('_', ' ')}) and restarted")

    def attempt(self, action: str, subject) -> None:
        """Customer and staff actions: a refused one (4xx) is recorded, as a CSR would note it."""
        try:
            getattr(self, f"do_{action}")(subject)
        except ApiError as error:
            if error.status >= 500:
                raise
            self.api_errors.append(f"{self.today} {action}: {error}")

    # --- meters and reads ----------------------------------------------------------------------

    def advance_meters(self, day: date) -> None:
        """The water each site used on `day` turns its meter; the account that had the service that
        day (still the closing one on its last day) is charged with it in the truth."""
        boundary = day + timedelta(days=1)
        for site in self.d.sites:
            account = site.current or (site.previous if site.previous and site.previous.closed_on == day else None)
            if account is None:
                continue
            meter = site.meter
            use = self.d.day_use(account, day)
            if meter.fault == "stuck" and meter.fault_day <= day < meter.fault_day + timedelta(days=30):
                use = 0  # the register stopped: water flowed, nothing was measured
            if meter.fault == "backwards" and meter.fault_day <= day < meter.fault_day + timedelta(days=3):
                use = -2  # reverse flow turned the register back
            meter.odometer += use
            account.used += use
            if boundary.day == 1 or account.closed_on == day:
                account.measured[boundary] = account.used

    def publish_reads(self, today: date) -> None:
        read_at = midnight(today)
        reads, held = [], []
        late_day = today.toordinal() % 11 == 0
        for site in self.d.sites:  # the head-end reads every installed meter, occupied or not
            meter = site.meter
            value, truthful = self.d.reported(meter, today)
            if value is None or not truthful:
                meter.untrue.add(today)
            if value is None:
                continue
            read = {"meter_serial": meter.serial, "read_at": read_at, "value": f"{value}.00", "unit": "HCF"}
            if late_day and self.rng.random() < 0.05:
                held.append(read)
                meter.untrue.add(today)  # not there when the run on this day looks
            else:
                reads.append(read)
        for start in range(0, len(reads), READS_PER_MESSAGE):
            batch_id = f"sim-{today}-{start // READS_PER_MESSAGE}"
            self.send_batch(batch_id, reads[start:start + READS_PER_MESSAGE])
            if today.toordinal() % 7 == 0:
                self.send_batch(batch_id, reads[start:start + READS_PER_MESSAGE])  # the head-end re-sends
        if held:  # published two days later, after newer reads: late and out of order
            self.late_reads[today + timedelta(days=2)].append((f"sim-late-{today}", held))
        for batch_id, late in self.late_reads.pop(today, []):
            self.send_batch(batch_id, late)
        self.publish_intervals(today)

    def send_batch(self, batch_id: str, reads: list) -> None:
        envelope = self.h.envelope("metering.ami_register_reads.v1", batch_id,
                                   {"batch_id": batch_id, "head_end": "sim-headend", "reads": reads},
                                   "sim-headend")
        self.h.publish("ami.inbound", "metering.ami_register_reads.v1", envelope)
        if batch_id not in self.batches_sent:
            self.reads_sent += len(reads)
        self.batches_sent.add(batch_id)

    def publish_intervals(self, today: date) -> None:
        """Hourly cumulative register values over yesterday for the interval meters (the midnight
        register read carries the day's total; the hours split it)."""
        blocks = []
        start = today - timedelta(days=1)
        for site in self.d.sites:
            meter = site.meter
            if not meter.interval:
                continue
            value, truthful = self.d.reported(meter, today)
            if value is None or not truthful:
                continue
            previous = getattr(meter, "previous_midnight", None)
            meter.previous_midnight = value
            if previous is None or value < previous:
                continue
            use = value - previous
            hours = sorted(self.rng.randint(6, 21) for _ in range(use))
            values, level = [], previous
            for hour in range(24):
                level += hours.count(hour)
                values.append(f"{level}.00")
            blocks.append({"meter_serial": meter.serial, "register": "main", "unit": "HCF",
                           "interval_start": midnight(start), "interval_seconds": 3600, "values": values[1:] + [
                               f"{value}.00"], "flags": []})
        if blocks:
            batch_id = f"sim-interval-{today}"
            self.h.publish("ami.inbound", "metering.ami_interval_reads.v1", self.h.envelope(
                "metering.ami_interval_reads.v1", batch_id,
                {"batch_id": batch_id, "head_end": "sim-headend", "blocks": blocks}, "sim-headend"))

    def review_read_exceptions(self) -> None:
        """Meter-reading staff work the read exceptions worklist: a reading the meter really showed is
        accepted, a bad one (the sim knows) is edited to the register, a final read is accepted once
        the field read is in."""
        after = None
        while True:
            query = "?status=unresolved&limit=500" + (f"&after_id={after}" if after else "")
            page = self.api("GET", "/read-exceptions" + query)
            by_meter = defaultdict(list)
            for item in page["exceptions"]:
                if item["exception_id"] not in self.exceptions_tried:
                    by_meter[item["meter_serial"]].append(item)
            with ThreadPoolExecutor(4) as pool:  # staff work different meters side by side, one meter in order
                list(pool.map(lambda items: [self.resolve(item) for item in items], by_meter.values()))
            after = page.get("next_after_id")
            if not after:
                return

    def resolve(self, item: dict) -> None:
        meter = self.d.meters.get(item["meter_serial"])
        if item["rule"] == "final_read" and item["meter_serial"] not in self.field_reads:
            return  # waits for the field crew
        self.exceptions_tried.add(item["exception_id"])
        day = datetime.fromisoformat(item["read_at"]).astimezone(PACIFIC).date()
        body = {"exception_id": item["exception_id"], "resolved_by": "sim.staff", "action": "accept",
                "reason": "reading confirmed against the register"}
        if meter is not None and day in meter.truth_at and item["value"] is not None:
            body.update(action="edit", new_value=f"{meter.truth_at[day]}.00", reason="head-end glitch; register read")
        with self.lock:
            self.resolutions[f"{item['rule']}/{body['action']}"] += 1
        try:
            self.api("POST", f"/read-exceptions/{item['exception_id']}/resolution", body)
        except ApiError as error:
            if error.status >= 500:
                raise
            self.api_errors.append(f"{self.today} resolve {item['rule']} {item['exception_id']}: {error}")

    def do_manual_read(self, meter) -> None:
        reading_at = datetime(self.today.year, self.today.month, self.today.day, 10, 30, tzinfo=PACIFIC)
        self.api("POST", f"/meters/{meter.serial}/reads", {
            "read_at": reading_at.isoformat(), "value": f"{meter.register()}.00", "source": "handheld",
            "reader": "sim.reader", "reason": "AMI endpoint silent"})

    def do_exchange(self, account: Account) -> None:
        old = account.site.meter
        new = self.d.new_meter(old.size)
        new.odometer = 0
        self.api("POST", "/meters", {"serial": new.serial, "size": new.size})
        self.api("POST", f"/meters/{old.serial}/exchange", {
            "old_final_read": f"{old.register()}.00", "new_serial": new.serial, "new_initial_read": "0",
            "exchanged_on": self.today.isoformat(), "exchanged_by": "sim.crew", "reason": "failed accuracy test"})
        old.removed = True
        account.site.removed_meters.append((old, self.today))
        account.site.meter = new
        self.notes.append(f"{self.today}: meter {old.serial} exchanged for {new.serial} on {account.account_id}")

    # --- bill runs --------------------------------------------------------------------------------

    def bill_run(self, today: date) -> None:
        period_end = today.replace(day=1) - timedelta(days=1)
        period_start = period_end.replace(day=1)
        self.h.drain()  # the head-end's reads of the period's end are in
        run = self.api("POST", "/bill-runs", {"cycle": CYCLE, "period_start": period_start.isoformat(),
                                              "period_end": period_end.isoformat()})
        self.seam_fault(today, "mid_bill_run")
        deadline = time.monotonic() + 600
        while run["status"] not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"bill run {run['run_id']} not completed: {run}")
            time.sleep(0.3)
            run = self.api("GET", f"/bill-runs/{run['run_id']}")
        self.log(f"{today}: bill run {run['run_id']} {period_start}..{period_end}: {run.get('status')}, "
                 f"{run.get('bills_issued')} bills, {run.get('exceptions')} exceptions")

    # --- the customers' side: reacting to what the suite tells them --------------------------

    def take_events(self) -> None:
        def order(envelope):  # the day's events in a fixed order, so a seed replays the same year
            payload = envelope.get("payload") or {}
            return (str(envelope.get("type")), str(payload.get("account_id")), str(payload.get("bill_id")),
                    json.dumps(payload, sort_keys=True))

        for envelope in sorted(self.h.take(OBSERVER_QUEUE), key=order):
            name = f"{envelope.get('type')}.v{envelope.get('version')}"
            self.observed[envelope["message_id"]] += 1
            self.events[name] += 1
            handler = getattr(self, "on_" + name.replace(".", "_"), None)
            if handler:
                handler(envelope["payload"], envelope)

    def on_billing_bill_issued_v1(self, bill: dict, envelope: dict) -> None:
        self.bills[bill["bill_id"]] = bill
        self.bill_messages[envelope["message_id"]] = bill["bill_id"]
        account = self.by_id.get(bill["account_id"])
        balance = Decimal(bill["balance_due"])
        if account is None or balance <= 0:
            return
        issued, due = date.fromisoformat(bill["issued_on"]), date.fromisoformat(bill["due_on"])
        before_due = lambda: issued + timedelta(days=self.rng.randint(2, max(2, (due - issued).days - 1)))  # noqa: E731
        habit = account.habit
        if habit == "on_time" or (habit == "returned" and self.rng.random() < 0.6):
            self.agenda[before_due()].append(("pay", (account, balance, bill["bill_id"], "ach")))
        elif habit == "late":
            self.agenda[due + timedelta(days=self.rng.randint(3, 45))].append(
                ("pay", (account, balance, bill["bill_id"], "check")))
        elif habit == "partial":
            self.agenda[before_due()].append(("pay", (account, (balance / 2).quantize(CENT), bill["bill_id"], "cash")))
        elif habit == "overpay":
            self.agenda[before_due()].append(("pay", (account, balance + 20, bill["bill_id"], "card_token")))
        elif habit == "returned":
            day = before_due()
            self.agenda[day].append(("pay", (account, balance, bill["bill_id"], "check")))
            self.agenda[day + timedelta(days=6)].append(("return_payment", (account, balance, bill["bill_id"])))

    def do_pay(self, subject) -> None:
        account, amount, bill_id, method = subject
        if account.closed_on is not None and account.closed_on < self.today - timedelta(days=60):
            return
        reference = f"SIM-{bill_id}-{method}-{self.today}"
        self.api("POST", "/payments", {"account_id": account.account_id, "amount": money(amount), "method": method,
                                       "reference": reference, "received_on": self.today.isoformat()})

    def do_return_payment(self, subject) -> None:
        """A returned check. There is no payment-return interface: staff post a debit adjustment with
        reason code returned_payment (what the District does today); the customer pays again late."""
        account, amount, bill_id = subject
        self.api("POST", f"/accounts/{account.account_id}/adjustments", {
            "kind": "debit", "amount": money(amount), "reason_code": "returned_payment",
            "note": f"Check for {bill_id} returned NSF", "posted_by": "sim.clerk", "bill_id": bill_id,
            "request_id": f"NSF-{bill_id}"})
        self.agenda[self.today + timedelta(days=self.rng.randint(15, 30))].append(
            ("pay", (account, amount, bill_id + "-again", "cash")))

    def on_collections_collection_notice_requested_v1(self, notice: dict, envelope: dict) -> None:
        """A shutoff notice: some who never pay now act (plans kept or not, extensions, appeals, medical)."""
        account = self.by_id.get(notice.get("account_id"))
        if account is None or account.habit != "never" or account.plan or getattr(account, "reacted", False):
            return
        account.reacted = True
        choice = self.rng.random()
        tomorrow = self.today + timedelta(days=1)
        if choice < 0.15:
            self.agenda[tomorrow].append(("plan", (account, "kept", False)))
        elif choice < 0.25:
            self.agenda[tomorrow].append(("plan", (account, "defaulted", False)))
        elif choice < 0.35:
            self.agenda[tomorrow].append(("plan", (account, "kept", True)))  # with a medical certification
        elif choice < 0.45:
            self.agenda[tomorrow].append(("extension", account))
        elif choice < 0.55:
            self.agenda[tomorrow].append(("appeal", account))

    def do_plan(self, subject) -> None:
        account, outcome, medical = subject
        if medical:
            self.api("POST", f"/accounts/{account.account_id}/medical-certifications", {
                "certified_on": self.today.isoformat(), "expires_on": None, "financially_unable": True})
            account.medical = True
        plan = self.api("POST", f"/accounts/{account.account_id}/payment-plans", {
            "months": 3, "first_due_on": (self.today + timedelta(days=10)).isoformat(),
            "requested_on": self.today.isoformat()})
        account.plan = outcome
        if outcome == "kept":
            # the customer pays what the plan letter says: the past-due balance in equal monthly parts
            account.habit = "on_time"  # current bills paid as they come, with the installments
            months = 3
            part = (Decimal(plan["past_due_amount"]) / months).quantize(CENT, rounding="ROUND_UP")
            first = self.today + timedelta(days=10)
            for n in range(months):
                due = date(first.year + (first.month - 1 + n) // 12, (first.month - 1 + n) % 12 + 1, min(first.day, 28))
                self.agenda[due - timedelta(days=1)].append(
                    ("pay", (account, part, f"PLAN-{account.account_id}-{self.today}-{n + 1}", "ach")))
        self.notes.append(f"{self.today}: payment plan for {account.account_id} ({outcome}"
                          f"{', medical certification' if medical else ''}): {plan}"[:300])

    def do_extension(self, account: Account) -> None:
        until = self.today + timedelta(days=20)
        self.api("POST", f"/accounts/{account.account_id}/extensions", {"until": until.isoformat(),
                                                                        "requested_on": self.today.isoformat()})
        account.habit = "late"
        statement = self.api("GET", f"/accounts/{account.account_id}/statement")
        self.agenda[until - timedelta(days=2)].append(("pay", (account, Decimal(statement["balance"]),
                                                               f"EXT-{account.account_id}", "cash")))

    def do_appeal(self, account: Account) -> None:
        self.api("POST", f"/accounts/{account.account_id}/appeals", {"kind": "appeal",
                                                                     "filed_on": self.today.isoformat()})
        self.agenda[self.today + timedelta(days=15)].append(("resolve_appeal", account))

    def do_resolve_appeal(self, account: Account) -> None:
        self.api("POST", f"/accounts/{account.account_id}/appeals", {"resolved_on": self.today.isoformat()})

    def do_collections_staff(self, _) -> None:
        """Collections staff work today's worklist: the 48-hour attempt to reach an adult by phone or in
        person (Gov. Code 60373); when nobody answers, collections orders the door hanger."""
        if self.today.weekday() >= 5:
            return
        worklist = self.api("GET", f"/collections/worklist/by-account?date={self.today}")
        for item in worklist.get("accounts", []):
            for due in item.get("due", []):
                key = (item["account_id"], due.get("kind"), due.get("on"))
                if due.get("kind") != "contact_attempt" or key in self.contacted:
                    continue
                self.contacted.add(key)
                reached = self.rng.random() < 0.3
                self.api("POST", f"/accounts/{item['account_id']}/contact-attempts",
                         {"reached_adult": reached, "attempted_on": self.today.isoformat()})
                if reached:
                    self.adults_reached[item["account_id"]].append(self.today)

    def do_daily_run(self, _) -> None:
        self.last_daily_run = self.api("POST", "/collections/daily-run")

    # --- move-outs, move-ins, transfers -----------------------------------------------------------

    def do_move_out(self, account: Account) -> None:
        self.close(account)
        successor = Account(len(self.d.accounts) + 1, self.d.new_customer(len(self.d.accounts) + 1), account.site,
                            account.customer_class, self.rng.choice(["on_time", "late", "never"]),
                            account.monthly_hcf)
        self.d.accounts.append(successor)
        self.agenda[self.today + timedelta(days=1)].append(("move_in", successor))

    def close(self, account: Account) -> None:
        self.api("POST", f"/accounts/{account.account_id}/closing", {
            "closed_on": self.today.isoformat(), "reason": "move_out", "final_read_requested": True,
            "forwarding_address": {"line1": "400 Pine Ave", "city": "Fresno", "zip": "93701"}})
        # the last day of service ends at tomorrow's midnight: the meter keeps turning for today
        account.closed_on = self.today
        account.site.current = None
        account.site.previous = account

    def do_move_in(self, account: Account) -> None:
        self.open_account(account, self.today)

    def do_transfer(self, pair) -> None:
        """Customer of `first` moves to `second`'s site (whose customer left); a newcomer takes `first`'s."""
        first, second = pair
        self.close(first)
        self.close(second)
        moved = Account(len(self.d.accounts) + 1, first.customer, second.site, second.customer_class, first.habit,
                        second.monthly_hcf)
        newcomer = Account(len(self.d.accounts) + 2, self.d.new_customer(len(self.d.accounts) + 2), first.site,
                           first.customer_class, "on_time", first.monthly_hcf)
        self.d.accounts += [moved, newcomer]
        self.agenda[self.today + timedelta(days=1)] += [("transfer_in", moved), ("move_in", newcomer)]

    def do_transfer_in(self, account: Account) -> None:
        """The same customer (same customer_id) opens an account at the new site."""
        site = account.site
        opened = self.api("POST", "/accounts", {"customer_id": account.customer.customer_id,
                                                "connection_id": site.connection_id,
                                                "customer_class": account.customer_class,
                                                "opened_on": self.today.isoformat(), "bill_cycle": CYCLE})
        self.occupy(account, opened["account_id"], self.today)

    # --- operations: the field crews' system ------------------------------------------------------

    def operations(self) -> int:
        """Carry out today's work orders and report them on operations.inbound. Returns how many."""
        for queue in sorted(self.h.external - {"operations.work_orders"}):
            for message in self.h.take(queue):
                self.events[f"{queue}: {message.get('type')}"] += 1
        pending = getattr(self, "pending_orders", [])
        for order in self.h.take("operations.work_orders"):
            pending.append(order)
            payload = order.get("payload", {})
            if order.get("type") == "collections.shutoff_ordered":
                self.shutoff_orders.append({**payload, "seen_on": self.today.isoformat()})
        reported, keep = 0, []
        for order in pending:
            kind, payload = order.get("type"), order.get("payload", {})
            when = payload.get("scheduled_on") or payload.get("post_on") or self.today.isoformat()
            if date.fromisoformat(when) > self.today:
                keep.append(order)
                continue
            work_kind = {"collections.shutoff_ordered": "shutoff", "collections.reconnect_ordered": "reconnect",
                         "collections.notice_posting_ordered": "door_hanger_posted"}.get(kind, "field_work")
            if work_kind == "field_work" and payload.get("meter_serial") in self.d.meters:
                self.field_read(payload)
            done_at = datetime(self.today.year, self.today.month, self.today.day, 9, 0, tzinfo=PACIFIC)
            work_order_id = payload.get("order_id") or payload.get("work_order_id")
            self.h.publish("operations.inbound", "operations.work_order_completed.v1", self.h.envelope(
                "operations.work_order_completed.v1", f"{work_order_id}:done",
                {"work_order_id": work_order_id, "kind": work_kind, "completed_at": done_at.isoformat(),
                 "outcome": "done", "reason": None, "crew": "sim-crew"}, "operations"))
            self.work_orders_done[work_kind] += 1
            if work_kind == "door_hanger_posted":
                self.door_hangers[payload.get("account_id")].append(self.today)
            reported += 1
        self.pending_orders = keep
        return reported

    def field_read(self, order: dict) -> None:
        meter = self.d.meters[order["meter_serial"]]
        try:
            self.do_manual_read(meter)
            self.field_reads.add(meter.serial)
        except ApiError as error:
            self.api_errors.append(f"{self.today} field read {meter.serial}: {error}")
