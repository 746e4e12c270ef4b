"""Tariff use cases: load an adopted tariff document (kept with its history), and preview a bill."""
import calendar
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from cis_billing.adapters.models import Account, Tariff as StoredTariff
from cis_billing.domain.engine import Account as BillingAccount
from cis_billing.domain.engine import BillPlan, CannotBill, Determinants, Line, Period, bill_total
from cis_billing.domain.tariff_document import (Tariff, TariffInvalid, check_fits_history, parse_stored_tariff,
                                                 parse_tariff)
from cis_contracts.accounts import CUSTOMER_CLASSES, FIRE_LINE_SIZES
from cis_contracts.metering import METER_SIZES
from cis_runtime.errors import Conflict, InvalidInput, NotFound


def invalid(error: TariffInvalid, prefix: str = "document") -> InvalidInput:
    """One entry per problem, keyed by its path in the document ("document.charges[2].tiers[1].upto")."""
    fields: dict[str, list[str]] = {}
    for problem in error.problems:
        path, _, message = problem.partition(": ")
        fields.setdefault(f"{prefix}.{path}" if path else prefix, []).append(message)
    return InvalidInput(fields)


def parse_adopted(document: dict) -> Tariff:
    """A document offered for adoption (load, bill impact, the file check): every rule applies, and its
    classes and sizes must be the District's (District data in the contracts: customer classes and fire
    line sizes owned by accounts, `cis_contracts.accounts`; meter sizes by metering, `cis_contracts.metering`)."""
    return parse_tariff(document, customer_classes=CUSTOMER_CLASSES, meter_sizes=METER_SIZES,
                        fire_line_sizes=FIRE_LINE_SIZES)


def stored_tariffs(uow) -> list[Tariff]:
    return [parse_stored_tariff(document) for document in uow.session.scalars(
        sa.select(StoredTariff.document).order_by(StoredTariff.tariff_id, StoredTariff.version)).all()]


def load_tariff(uow, document: dict) -> dict:
    """Validate and keep a tariff version; the identical document again is a no-op, a different one a conflict."""
    try:
        tariff = parse_adopted(document)
    except TariffInvalid as error:
        raise invalid(error) from None
    # One loader at a time, so two versions cannot both pass the history check.
    uow.session.execute(sa.text("lock table tariffs in share row exclusive mode"))
    existing = uow.session.get(StoredTariff, (tariff.tariff_id, tariff.version))
    if existing is not None:
        if existing.document == tariff.document:
            return tariff_view(tariff)
        raise Conflict(f"{tariff.label} is already loaded with different content; adopt a new version")
    try:
        check_fits_history(tariff, stored_tariffs(uow))
    except TariffInvalid as error:
        raise invalid(error) from None
    uow.session.add(StoredTariff(tariff_id=tariff.tariff_id, version=tariff.version,
                                 effective_from=tariff.effective_from, effective_to=tariff.effective_to,
                                 document=tariff.document, adopted_by=tariff.adopted_by))
    uow.commit()
    return tariff_view(tariff)


def tariff_view(tariff: Tariff) -> dict:
    return {"tariff_id": tariff.tariff_id, "version": tariff.version, "effective_from": tariff.effective_from,
            "effective_to": tariff.effective_to, "adopted_by": tariff.adopted_by, "name": tariff.name,
            "customer_classes": list(tariff.customer_classes), "charges": len(tariff.charges)}


def tariff_history(uow) -> list[dict]:
    return [tariff_view(t) for t in stored_tariffs(uow)]


def account_attributes(customer_class: str, meter_size: str, dwelling_units: int, attributes: dict) -> BillingAccount:
    """The engine's view of an account from billing's row (attributes JSON holds decimal strings)."""
    def decimal(name):
        return None if attributes.get(name) is None else Decimal(str(attributes[name]))
    return BillingAccount(customer_class, meter_size, dwelling_units or 1, attributes.get("residents"),
                          decimal("landscape_area_sqft"), decimal("budget_variance") or Decimal(0),
                          attributes.get("fire_line_size"), decimal("winter_average"))


PREVIEW_ATTRIBUTES = ("residents", "landscape_area_sqft", "budget_variance", "fire_line_size", "winter_average")


def preview_bill(uow, request: dict) -> dict:
    """What an account (or a class and meter size) would pay for a given consumption: nothing is stored."""
    given = {name: request[name] for name in PREVIEW_ATTRIBUTES if request.get(name) is not None}
    if request.get("account_id"):
        row = uow.session.get(Account, request["account_id"])
        if row is None:
            raise NotFound("account", request["account_id"])
        account = account_attributes(row.customer_class, request.get("meter_size") or row.authorized_meter_size,
                                     request.get("dwelling_units") or row.dwelling_units, {**row.attributes, **given})
    else:
        account = account_attributes(request["customer_class"], request["meter_size"],
                                     request.get("dwelling_units") or 1, given)
    period = _preview_period(request, uow.today())
    try:
        lines = BillPlan(stored_tariffs(uow), account.customer_class, period).lines(
            account, Determinants(request["consumption"], request.get("unit") or "HCF", request.get("et_inches")))
    except CannotBill as reason:
        raise Conflict(f"cannot price this bill: {reason}") from None
    return {"account_id": request.get("account_id"), "customer_class": account.customer_class,
            "meter_size": account.meter_size, "dwelling_units": account.dwelling_units,
            "consumption": request["consumption"], "unit": request.get("unit") or "HCF",
            "period_start": period.start, "period_end": period.end, "total": bill_total(lines),
            "lines": [line_detail(number, line) for number, line in enumerate(lines, start=1)]}


def _preview_period(request: dict, today: date) -> Period:
    """The period asked for, else the calendar month of the business date."""
    if request.get("period_start"):
        return Period(request["period_start"], request["period_end"])
    return Period(today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1]))


def line_detail(line_no: int, line: Line) -> dict:
    return {"line_no": line_no, "tariff": line.tariff, "rule": line.rule, "charge": line.charge,
            "description": line.description, "quantity": line.quantity, "unit": line.unit, "rate": line.rate,
            "amount": line.amount, "tier_from": line.tier_from, "tier_to": line.tier_to, "days": line.days,
            "proration": line.proration}
