"""The seeded district: who lives where, what meters they have, how they use water and pay.

Everything random comes from one random.Random(seed), drawn in a fixed order, so a seed gives the
same district and the same year every time. The model also keeps the truth the checks compare
against: each meter's register as it really turned (unwrapped through rollovers) at midnight.
"""
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

START = date(2026, 7, 1)  # every tariff in services/billing/tariffs/ is effective; the drought surcharge
# (multifamily, 2026-08-01 .. 2027-03-31) switches on and off inside a 396-day run

# class -> (share of accounts, meter sizes, typical HCF per month for the smallest size)
CLASSES = {
    "residential": (0.70, ("5/8", "3/4", "1"), 7),
    "multi_family": (0.10, ("1", "1.5", "2"), 24),
    "commercial": (0.10, ("5/8", "1", "2", "3"), 30),
    "irrigation": (0.07, ("1", "1.5", "2"), 45),
    "agency": (0.03, ("6", "8"), 900),
}
SIZE_FACTOR = {"5/8": 1, "3/4": 1.3, "1": 1.6, "1.5": 2.2, "2": 3, "3": 5, "4": 7, "6": 1, "8": 1.5}
# bill payers: share of accounts per habit
HABITS = (("on_time", 0.55), ("late", 0.12), ("partial", 0.07), ("overpay", 0.06), ("returned", 0.04),
          ("never", 0.16))
FAULTS = ("spike", "stuck", "backwards", "rollover", "silent")


@dataclass
class Meter:
    serial: str
    size: str
    digits: int
    odometer: int  # what the register really counted since manufacture (never wraps)
    fault: str | None = None
    fault_day: date | None = None
    interval: bool = False  # also reports hourly interval reads
    removed: bool = False
    untrue: set = field(default_factory=set)  # midnights whose read was missing, wrong or late
    truth_at: dict = field(default_factory=dict)  # midnight -> the register, where the head-end lied

    @property
    def modulus(self) -> int:
        return 10 ** self.digits

    def register(self) -> int:
        return self.odometer % self.modulus


@dataclass
class Site:
    apn: str
    street: str
    connection_id: str | None = None
    size: str = "5/8"
    dwelling_units: int = 1
    meter: Meter | None = None
    current: "Account | None" = None  # the account served now
    previous: "Account | None" = None  # the last one that moved out
    removed_meters: list = field(default_factory=list)  # [(meter, the day it was exchanged)], oldest first

    def meter_at(self, midnight_of: date) -> "Meter":
        """The meter read at this midnight: an exchanged meter served until its exchange day."""
        for meter, exchanged_on in self.removed_meters:
            if midnight_of <= exchanged_on:
                return meter
        return self.meter


@dataclass
class Customer:
    name: str
    email: str | None
    customer_id: str | None = None
    paperless: bool = False


@dataclass
class Account:
    number: int
    customer: Customer
    site: Site
    customer_class: str
    habit: str
    monthly_hcf: float
    tenant_occupied: bool = False
    account_id: str | None = None
    opened_on: date = START
    closed_on: date | None = None
    medical: bool = False
    plan: str | None = None  # kept | defaulted
    measured: dict = field(default_factory=dict)  # boundary day -> HCF measured since opening
    used: int = 0
    reacted: bool = False


class District:
    def __init__(self, seed: int, accounts: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.sites: list[Site] = []
        self.accounts: list[Account] = []
        self.meters: dict[str, Meter] = {}
        self._generate(accounts)

    def _generate(self, count: int) -> None:
        rng = self.rng
        classes = list(CLASSES)
        quota = [max(1, round(CLASSES[c][0] * count)) for c in classes]
        quota[0] += count - sum(quota)  # residential takes the rounding
        plan = [c for c, q in zip(classes, quota) for _ in range(q)]
        rng.shuffle(plan)
        habits = [h for h, _ in HABITS]
        weights = [w for _, w in HABITS]
        for number, customer_class in enumerate(plan, start=1):
            share, sizes, hcf = CLASSES[customer_class]
            size = sizes[number % len(sizes)] if number <= len(classes) * 3 else rng.choice(sizes)
            site = self.new_site(size, dwelling_units=rng.randint(4, 24) if customer_class == "multi_family" else 1)
            customer = self.new_customer(number)
            monthly = hcf * SIZE_FACTOR[size] * (site.dwelling_units / 6 if customer_class == "multi_family" else 1)
            account = Account(number, customer, site, customer_class, rng.choices(habits, weights)[0],
                              monthly * rng.uniform(0.6, 1.4),
                              tenant_occupied=customer_class == "residential" and rng.random() < 0.12)
            self.accounts.append(account)
        # meter faults, a few of each, on residential and commercial meters
        candidates = [a for a in self.accounts if a.customer_class in ("residential", "commercial")]
        rng.shuffle(candidates)
        per_fault = max(1, len(self.accounts) // 100)
        for index, account in enumerate(candidates[:per_fault * len(FAULTS)]):
            meter = account.site.meter
            meter.fault = FAULTS[index % len(FAULTS)]
            meter.fault_day = START + timedelta(days=rng.randint(20, 200))
            if meter.fault == "rollover":
                meter.digits = 4
                meter.odometer = 9999 - rng.randint(20, 60)  # rolls over in the first months
        for account in rng.sample(self.accounts, max(2, len(self.accounts) // 50)):
            account.site.meter.interval = True

    def new_site(self, size: str, dwelling_units: int = 1) -> Site:
        number = len(self.sites) + 1
        site = Site(apn=f"{100 + number // 1_000_000:03d}-{number // 1000 % 1000:03d}-{number % 1000:03d}",
                    street=f"{number} {self.rng.choice(('Orchard Ln', 'Creek Rd', 'Ventura Ave', 'Foothill Rd'))}",
                    size=size, dwelling_units=dwelling_units)
        site.meter = self.new_meter(size)
        self.sites.append(site)
        return site

    def new_meter(self, size: str) -> Meter:
        serial = f"SIM{len(self.meters) + 1:07d}"
        meter = Meter(serial, size, digits=6, odometer=self.rng.randint(100, 5000))
        self.meters[serial] = meter
        return meter

    def new_customer(self, number: int) -> Customer:
        email = None if self.rng.random() < 0.15 else f"c{number}.{self.seed}@example.org"
        return Customer(f"Customer {number}", email, paperless=email is not None and self.rng.random() < 0.3)

    # --- use: the real register, and what the head-end reports ------------------------------

    def day_use(self, account: Account, day: date) -> int:
        """Whole HCF used on `day` (integers: no consumption rounding can hide a lost unit)."""
        summer = 1.35 if day.month in (6, 7, 8, 9) else (0.7 if day.month in (12, 1, 2) else 1.0)
        if account.customer_class == "irrigation":
            summer = summer ** 2
        mean = account.monthly_hcf * summer / 30
        whole = int(mean)
        return whole + (1 if self.rng.random() < mean - whole else 0)

    def reported(self, meter: Meter, day: date):
        """The register value the head-end reports at `day`'s midnight, or None (silent).
        Returns (value, is_truth): a spike is a bad reading, not water."""
        if meter.fault == "silent" and meter.fault_day <= day < meter.fault_day + timedelta(days=40):
            return None, False
        if meter.fault == "spike" and day == meter.fault_day:
            meter.truth_at[day] = meter.register()
            return (meter.odometer + int(70 * 8)) % meter.modulus, False
        return meter.register(), True
