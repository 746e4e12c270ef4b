"""Liens and the tax-roll delinquent list, by parcel (APN): use cases over domain/liens.py.

Charges are the open receivables of accounts whose APN and owner of record came with
accounts.account_opened.v1; an account without an APN cannot be liened and is left out.
"""
import csv
import io
from decimal import Decimal

import sqlalchemy as sa

from cis_collections.adapters import models
from cis_collections.domain import liens
from cis_collections.domain.model import next_identifier
from cis_runtime.errors import Conflict, InvalidInput, NotFound

LIEN_RECORDED = "collections.lien_recorded.v1"
LIEN_RELEASED = "collections.lien_released.v1"


def parcel_charges(uow) -> list[liens.Charge]:
    account, bill = models.CollectionAccount, models.Receivable
    rows = uow.session.execute(
        sa.select(account.apn, account.owner_of_record, bill.account_id, bill.bill_id, bill.due_on,
                  bill.amount - bill.paid)
        .join(account, account.account_id == bill.account_id)
        .where(bill.paid < bill.amount, bill.written_off_on.is_(None), account.apn.is_not(None),
               bill.delivered_on.is_not(None))).all()  # a bill never delivered starts nothing, no lien either
    return [liens.Charge(apn, owner or "", account_id, bill_id, due_on, Decimal(unpaid))
            for apn, owner, account_id, bill_id, due_on, unpaid in rows]


# --- liens ----------------------------------------------------------------------------------------

def record_liens(uow, request: dict) -> dict:
    """A lien on each parcel delinquent long enough that has no open lien (one certificate per APN)."""
    today = uow.today()
    open_apns = set(uow.session.scalars(sa.select(models.Lien.apn).where(models.Lien.released_on.is_(None))))
    amounts = liens.lien_amounts(parcel_charges(uow), today, request["min_days_delinquent"])
    for apn, (owner, amount) in sorted(amounts.items()):
        if apn in open_apns:
            continue
        lien = models.Lien(lien_id=_next_id(uow, "LN"), apn=apn, owner_of_record=owner, amount=amount,
                           recorded_on=today)
        uow.session.add(lien)
        uow.emit(LIEN_RECORDED, {"lien_id": lien.lien_id, "apn": apn, "owner_of_record": owner, "amount": amount,
                                 "recorded_on": today})
    uow.session.flush()
    return list_liens(uow)


def release_paid_liens(uow) -> int:
    """Run daily: a parcel with nothing left unpaid has its lien released at once (well inside the
    30 days of Gov. Code 54984.9)."""
    today = uow.today()
    open_liens = list(uow.session.scalars(sa.select(models.Lien).where(models.Lien.released_on.is_(None))))
    if not open_liens:
        return 0
    account, bill = models.CollectionAccount, models.Receivable
    owing = set(uow.session.scalars(
        sa.select(account.apn).distinct().join(bill, bill.account_id == account.account_id)
        .where(account.apn.in_({lien.apn for lien in open_liens}), bill.paid < bill.amount,
               bill.written_off_on.is_(None))))
    released = 0
    for lien in open_liens:
        if lien.apn in owing:
            continue
        lien.paid_in_full_on = lien.paid_in_full_on or today
        lien.released_on = today
        uow.emit(LIEN_RELEASED, {"lien_id": lien.lien_id, "apn": lien.apn, "owner_of_record": lien.owner_of_record,
                                 "paid_in_full_on": lien.paid_in_full_on, "released_on": today})
        released += 1
    return released


def list_liens(uow) -> dict:
    rows = uow.session.scalars(sa.select(models.Lien).order_by(models.Lien.recorded_on.desc(), models.Lien.lien_id))
    return {"liens": [{"lien_id": r.lien_id, "apn": r.apn, "owner_of_record": r.owner_of_record, "amount": r.amount,
                       "recorded_on": r.recorded_on, "paid_in_full_on": r.paid_in_full_on,
                       "released_on": r.released_on} for r in rows]}


# --- the tax-roll delinquent list ---------------------------------------------------------------------

def prepare_delinquent_list(uow, request: dict) -> dict:
    if uow.session.get(models.TaxRollList, request["tax_year"]) is not None:
        raise Conflict(f"the {request['tax_year']} delinquent list already exists")
    listed = liens.delinquent_list(parcel_charges(uow), request["tax_year"], request["as_of"],
                                   request["min_days_delinquent"], frozenset(request["bona_fide_purchaser_apns"]))
    _save(uow, listed, new=True)
    return _view(listed)


def delinquent_list_step(uow, request: dict) -> dict:
    """One step of the hearing workflow; each step's statutory checks live in the domain."""
    listed = _load(uow, request["tax_year"])
    step = request["step"]
    if step == "notice":
        _require(request, "mailed_on", "published_on", "hearing_on")
        listed.give_notice(request["mailed_on"], tuple(request["published_on"]), request["hearing_on"])
    elif step == "protest":
        _require(request, "apn", "protest")
        listed.log_protest(request["apn"], request["protest"])
    elif step == "hearing":
        _require(request, "held_on")
        listed.hold_hearing(request["held_on"], request["adjustments"])
    else:
        _require(request, "filed_on")
        still_owing = {c.apn for c in parcel_charges(uow) if c.unpaid > 0}
        for apn, item in listed.items.items():
            if apn not in still_owing and item.removed is None:
                listed.remove_paid(apn)
        listed.auditor_file(request["filed_on"])
    _save(uow, listed)
    return _view(listed)


def get_delinquent_list(uow, tax_year: int) -> dict:
    return _view(_load(uow, tax_year))


def _require(request: dict, *names: str) -> None:
    missing = {name: [f"Required for the {request['step']} step."] for name in names if not request.get(name)}
    if missing:
        raise InvalidInput(missing)


def _load(uow, tax_year: int) -> liens.DelinquentList:
    row = uow.session.get(models.TaxRollList, tax_year)
    if row is None:
        raise NotFound("delinquent list", str(tax_year))
    items = uow.session.scalars(sa.select(models.TaxRollItem).where(models.TaxRollItem.tax_year == tax_year))
    return liens.DelinquentList(
        tax_year, row.as_of,
        {i.apn: liens.RollItem(i.apn, i.owner_of_record, Decimal(i.amount), tuple(i.bill_ids),
                               None if i.adjusted_amount is None else Decimal(i.adjusted_amount), list(i.protests),
                               i.bona_fide_purchaser, i.removed) for i in items},
        row.status, row.mailed_on, tuple(row.published_on) if row.published_on else None, row.hearing_on,
        row.filed_on)


def _save(uow, listed: liens.DelinquentList, new: bool = False) -> None:
    values = {"as_of": listed.as_of, "status": listed.status, "mailed_on": listed.mailed_on,
              "published_on": list(listed.published_on) if listed.published_on else None,
              "hearing_on": listed.hearing_on, "filed_on": listed.filed_on}
    if new:
        uow.session.add(models.TaxRollList(tax_year=listed.tax_year, **values))
        uow.session.flush()
    else:
        uow.session.execute(sa.update(models.TaxRollList).where(models.TaxRollList.tax_year == listed.tax_year)
                            .values(**values))
    for item in listed.items.values():
        row = uow.session.get(models.TaxRollItem, (listed.tax_year, item.apn))
        if row is None:
            row = models.TaxRollItem(tax_year=listed.tax_year, apn=item.apn)
            uow.session.add(row)
        row.owner_of_record, row.amount, row.bill_ids = item.owner_of_record, item.amount, list(item.bill_ids)
        row.adjusted_amount, row.protests = item.adjusted_amount, list(item.protests)
        row.bona_fide_purchaser, row.removed = item.bona_fide_purchaser, item.removed


def _view(listed: liens.DelinquentList) -> dict:
    return {"tax_year": listed.tax_year, "as_of": listed.as_of, "status": listed.status,
            "filing_deadline": listed.filing_deadline, "mailed_on": listed.mailed_on,
            "published_on": list(listed.published_on or ()), "hearing_on": listed.hearing_on,
            "filed_on": listed.filed_on,
            "items": [{"apn": i.apn, "owner_of_record": i.owner_of_record, "amount": i.amount,
                       "adjusted_amount": i.adjusted_amount, "bill_ids": list(i.bill_ids), "protests": i.protests,
                       "roll": i.roll, "removed": i.removed}
                      for i in sorted(listed.items.values(), key=lambda i: i.apn)],
            "auditor_file": _auditor_csv(listed) if listed.status == liens.FILED else None}


def _auditor_csv(listed: liens.DelinquentList) -> str:
    """The file for the county auditor: one line per APN, the Board-adjusted amount, secured or unsecured roll."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tax_year", "apn", "owner_of_record", "amount", "roll"])
    for line in listed.lines_to_file():
        writer.writerow([line["tax_year"], line["apn"], line["owner_of_record"], f"{line['amount']:.2f}", line["roll"]])
    return out.getvalue()


def _next_id(uow, prefix: str) -> str:
    return next_identifier(prefix, uow.session.execute(models.ids.next_value()).scalar())
