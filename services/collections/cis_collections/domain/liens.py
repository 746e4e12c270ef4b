"""Liens and the tax-roll delinquent list: per-parcel (APN) collection of unpaid charges.

Pure rules; the service layer keeps the records. Two paths, both by parcel:
- a lien certificate recorded against the parcel and released within 30 days of full payment
  (Gov. Code 54984.9);
- the annual delinquent list placed on the property tax roll (H&S 5473-5473.11): a report of
  charges unpaid as of a configured date, grouped by APN with the owner of record, a mailed notice
  to each owner and a published notice (Gov. Code 6066), a public hearing where protests are heard
  and the Board may revise amounts, then the file for the county auditor on or before 10 August.
  A parcel that passed to a bona fide purchaser goes to the unsecured roll (Water Code 31701.5).
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from cis_collections.domain.rules import Rule
from cis_runtime.errors import Conflict, InvalidInput

ZERO = Decimal("0.00")

LIEN_RELEASE_30_DAYS = Rule("lien_release_30_days", "Gov. Code 54984.9",
                            "A recorded lien is released within 30 days of payment in full.")
LIEN_CERTIFICATE_CONTENT = Rule("lien_certificate_content", "Gov. Code 54984.9",
                                "The certificate states the amount, the owner of record and the parcel (APN).")
TAX_ROLL_MAILED_NOTICE = Rule("tax_roll_mailed_notice", "H&S 5473.1",
                              "Written notice of the report and hearing mailed to each owner of record "
                              "at least 10 days before the hearing.")
TAX_ROLL_PUBLISHED_NOTICE = Rule("tax_roll_published_notice", "H&S 5473.1; Gov. Code 6066",
                                 "Notice published once a week for two successive weeks, five days between "
                                 "publications, the first at least 14 days before the hearing.")
TAX_ROLL_FILING_DEADLINE = Rule("tax_roll_filing_deadline", "H&S 5473.4",
                                "The report, as adopted, is filed with the county auditor on or before 10 August.")
UNSECURED_ROLL_BONA_FIDE_PURCHASER = Rule("unsecured_roll_bona_fide_purchaser", "Water Code 31701.5",
                                          "A charge on a parcel now owned by a bona fide purchaser goes to the "
                                          "unsecured roll, not the secured roll.")
LIEN_RELEASE_DAYS = 30
MAILED_NOTICE_DAYS = 10
FIRST_PUBLICATION_DAYS = 14
DAYS_BETWEEN_PUBLICATIONS = 5


@dataclass(frozen=True)
class Charge:
    """An unpaid bill on a parcel (the account's service is on the parcel)."""
    apn: str
    owner_of_record: str
    account_id: str
    bill_id: str
    due_on: date
    unpaid: Decimal


# --- liens ----------------------------------------------------------------------------------------

@dataclass
class Lien:
    lien_id: str
    apn: str
    owner_of_record: str
    amount: Decimal
    recorded_on: date
    paid_in_full_on: date | None = None
    released_on: date | None = None

    def certificate(self) -> dict:
        """What the recorded certificate says (Gov. Code 54984.9)."""
        return {"apn": self.apn, "owner_of_record": self.owner_of_record, "amount": self.amount,
                "recorded_on": self.recorded_on, "rule": LIEN_CERTIFICATE_CONTENT}

    def release_by(self) -> date | None:
        return self.paid_in_full_on + timedelta(days=LIEN_RELEASE_DAYS) if self.paid_in_full_on else None

    def release_overdue(self, today: date) -> bool:
        deadline = self.release_by()
        return self.released_on is None and deadline is not None and today > deadline


def lien_amounts(charges: list[Charge], as_of: date, min_days_delinquent: int) -> dict[str, tuple[str, Decimal]]:
    """Per APN: (owner of record, amount) of charges delinquent at least `min_days_delinquent` days."""
    by_apn: dict[str, tuple[str, Decimal]] = {}
    for charge in charges:
        if charge.unpaid > 0 and (as_of - charge.due_on).days >= min_days_delinquent:
            owner, amount = by_apn.get(charge.apn, (charge.owner_of_record, ZERO))
            by_apn[charge.apn] = (owner, amount + charge.unpaid)
    return by_apn


# --- the tax-roll delinquent list -------------------------------------------------------------------

DRAFT, NOTICED, HEARD, FILED = "draft", "noticed", "heard", "filed"


@dataclass
class RollItem:
    apn: str
    owner_of_record: str
    amount: Decimal
    bill_ids: tuple[str, ...]
    adjusted_amount: Decimal | None = None   # as revised by the Board at the hearing
    protests: list[str] = field(default_factory=list)
    bona_fide_purchaser: bool = False
    removed: str | None = None               # why it left the list (paid before filing, ...)

    @property
    def amount_to_file(self) -> Decimal:
        return self.amount if self.adjusted_amount is None else self.adjusted_amount

    @property
    def roll(self) -> str:
        return "unsecured" if self.bona_fide_purchaser else "secured"


@dataclass
class DelinquentList:
    tax_year: int
    as_of: date
    items: dict[str, RollItem]
    status: str = DRAFT
    mailed_on: date | None = None
    published_on: tuple[date, date] | None = None
    hearing_on: date | None = None
    filed_on: date | None = None

    @property
    def filing_deadline(self) -> date:
        return date(self.tax_year, 8, 10)

    def give_notice(self, mailed_on: date, published_on: tuple[date, date], hearing_on: date) -> None:
        """Mailed and published notice of the hearing, each checked against its statutory lead time."""
        self._require(DRAFT, "give notice")
        problems = {}
        if (hearing_on - mailed_on).days < MAILED_NOTICE_DAYS:
            problems["mailed_on"] = [f"Mail the notice at least {MAILED_NOTICE_DAYS} days before the hearing "
                                     f"({TAX_ROLL_MAILED_NOTICE.citation})."]
        first, second = sorted(published_on)
        if (second - first).days < DAYS_BETWEEN_PUBLICATIONS + 1 or (hearing_on - first).days < FIRST_PUBLICATION_DAYS:
            problems["published_on"] = [
                "Publish twice, five days between, the first at least 14 days before the hearing "
                f"({TAX_ROLL_PUBLISHED_NOTICE.citation})."]
        if hearing_on > self.filing_deadline:
            problems["hearing_on"] = [f"The hearing must come before the auditor deadline {self.filing_deadline} "
                                      f"({TAX_ROLL_FILING_DEADLINE.citation})."]
        if problems:
            raise InvalidInput(problems)
        self.mailed_on, self.published_on, self.hearing_on = mailed_on, (first, second), hearing_on
        self.status = NOTICED

    def log_protest(self, apn: str, protest: str) -> None:
        self._require(NOTICED, "log a protest")
        self._item(apn).protests.append(protest)

    def hold_hearing(self, held_on: date, adjustments: dict[str, Decimal]) -> None:
        """The Board hears protests and may revise any amount (H&S 5473.2-5473.3)."""
        self._require(NOTICED, "hold the hearing")
        if held_on != self.hearing_on:
            raise InvalidInput({"held_on": [f"The noticed hearing date is {self.hearing_on}."]})
        for apn, amount in adjustments.items():
            if amount < 0:
                raise InvalidInput({apn: ["An adjusted amount cannot be negative."]})
            self._item(apn).adjusted_amount = amount
        self.status = HEARD

    def remove_paid(self, apn: str) -> None:
        """Paid before filing: the item leaves the list."""
        if self.status == FILED:
            raise Conflict("the list is already filed: release the lien instead")
        self._item(apn).removed = "paid before filing"

    def auditor_file(self, filed_on: date) -> list[dict]:
        """The lines for the county auditor, by APN; the list is filed (once)."""
        self._require(HEARD, "file with the auditor")
        if filed_on > self.filing_deadline:
            raise InvalidInput({"filed_on": [f"Due on or before {self.filing_deadline} "
                                             f"({TAX_ROLL_FILING_DEADLINE.citation})."]})
        self.filed_on, self.status = filed_on, FILED
        return self.lines_to_file()

    def lines_to_file(self) -> list[dict]:
        """Every item still on the list with something to collect, by APN."""
        return [{"apn": i.apn, "owner_of_record": i.owner_of_record, "amount": i.amount_to_file, "roll": i.roll,
                 "tax_year": self.tax_year}
                for i in sorted(self.items.values(), key=lambda i: i.apn)
                if i.removed is None and i.amount_to_file > 0]

    def _item(self, apn: str) -> RollItem:
        try:
            return self.items[apn]
        except KeyError:
            raise InvalidInput({"apn": [f"{apn} is not on the {self.tax_year} delinquent list."]}) from None

    def _require(self, status: str, what: str) -> None:
        if self.status != status:
            raise Conflict(f"cannot {what}: the {self.tax_year} list is {self.status}, not {status}")


def delinquent_list(charges: list[Charge], tax_year: int, as_of: date, min_days_delinquent: int,
                    bona_fide_purchaser_apns: frozenset[str] = frozenset()) -> DelinquentList:
    """Charges unpaid as of `as_of` and delinquent at least `min_days_delinquent` days, grouped by APN."""
    items: dict[str, RollItem] = {}
    for charge in sorted(charges, key=lambda c: (c.apn, c.due_on, c.bill_id)):
        if charge.unpaid <= 0 or (as_of - charge.due_on).days < min_days_delinquent:
            continue
        item = items.setdefault(charge.apn, RollItem(charge.apn, charge.owner_of_record, ZERO, (),
                                                     bona_fide_purchaser=charge.apn in bona_fide_purchaser_apns))
        item.amount += charge.unpaid
        item.bill_ids += (charge.bill_id,)
    return DelinquentList(tax_year, as_of, items)
