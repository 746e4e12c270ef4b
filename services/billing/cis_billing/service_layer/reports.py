"""Reports priced by the tariff engine: the Prop 218 bill impact of a proposed tariff.

Each account's last billed period is priced again from metering's determinants for that period:
on the stored tariffs (those that billed it) and on the proposed document as if it had been in
effect over the same days. Nothing is stored; an account either side cannot price is listed as
an exception, never counted as zero.
"""
import dataclasses
from collections import defaultdict
from typing import Callable

import sqlalchemy as sa

from cis_billing.adapters.models import Account, Bill
from cis_billing.domain.bill_impact import PricedAccount, summarise
from cis_billing.domain.engine import BillPlan, CannotBill, Determinants, Period, bill_total
from cis_billing.domain.tariff_document import Tariff, TariffInvalid, check_fits_history
from cis_billing.service_layer.tariffs import account_attributes, invalid, parse_adopted, stored_tariffs
from cis_contracts.registry import validate

METERING_BATCH = 10000  # accounts per metering.get_consumption call

ConsumptionFetcher = Callable[[dict], dict]


def bill_impact(uow, document: dict, fetch_consumption: ConsumptionFetcher) -> dict:
    try:
        proposed = parse_adopted(document)
        stored = stored_tariffs(uow)
        check_fits_history(proposed, stored)  # a proposal the board could adopt as it stands
    except TariffInvalid as error:
        raise invalid(error) from None
    last_bills, exceptions = _last_billed_periods(uow, proposed.customer_classes)
    priced = []
    for period, accounts in last_bills.items():
        determinants, missing = _determinants(fetch_consumption, period, [a.account_id for a in accounts])
        pricing = _Pricing(stored, _as_if_in_effect(proposed, period), period)
        for account in accounts:
            try:
                determinant = determinants.get(account.account_id)
                if determinant is None:
                    raise CannotBill(missing.get(account.account_id, "metering returned no determinants"))
                priced.append(pricing.price(account, determinant))
            except CannotBill as reason:
                exceptions.append({"account_id": account.account_id, "reason": str(reason)})
    return {"proposed_tariff": proposed.label, "effective_from": proposed.effective_from,
            "accounts_priced": len(priced), "groups": summarise(priced),
            "exceptions": sorted(exceptions, key=lambda e: e["account_id"])}


def _last_billed_periods(uow, customer_classes) -> tuple[dict[Period, list], list[dict]]:
    """The open accounts of the classes by their last billed period; those never billed are exceptions."""
    last = (sa.select(Bill.account_id, Bill.period_start, Bill.period_end)
            .distinct(Bill.account_id).order_by(Bill.account_id, Bill.period_end.desc()).subquery())
    rows = uow.session.execute(
        sa.select(Account.account_id, Account.customer_class, Account.dwelling_units, Account.attributes,
                  last.c.period_start, last.c.period_end)
        .outerjoin(last, last.c.account_id == Account.account_id)
        .where(Account.status == "open", Account.customer_class.in_(customer_classes))
        .order_by(Account.account_id)).all()
    by_period, exceptions = defaultdict(list), []
    for row in rows:
        if row.period_start is None:
            exceptions.append({"account_id": row.account_id, "reason": "not billed yet"})
        else:
            by_period[Period(row.period_start, row.period_end)].append(row)
    return by_period, exceptions


def _determinants(fetch_consumption: ConsumptionFetcher, period: Period, account_ids: list[str]):
    found, missing = {}, {}
    for start in range(0, len(account_ids), METERING_BATCH):
        response = validate("metering.consumption_response.v1", fetch_consumption({
            "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
            "account_ids": account_ids[start:start + METERING_BATCH]}))
        found.update((d["account_id"], d) for d in response["determinants"])
        missing.update((m["account_id"], m["reason"]) for m in response["missing"])
    return found, missing


def _as_if_in_effect(proposed: Tariff, period: Period) -> Tariff:
    """The proposal priced over a past period: its effective dates moved to cover the period."""
    return dataclasses.replace(proposed, effective_from=period.start, effective_to=None)


class _Pricing:
    """The current and the proposed plan of each customer class for one period, compiled once."""

    def __init__(self, stored: list[Tariff], proposed: Tariff, period: Period):
        self.tariffs, self.period = {"current": stored, "proposed": [proposed]}, period
        self._plans: dict = {}

    def plan(self, which: str, customer_class: str) -> BillPlan:
        key = (which, customer_class)
        if key not in self._plans:
            try:
                self._plans[key] = BillPlan(self.tariffs[which], customer_class, self.period)
            except CannotBill as reason:
                self._plans[key] = reason
        if isinstance(self._plans[key], CannotBill):
            raise self._plans[key]
        return self._plans[key]

    def price(self, account, determinant: dict) -> PricedAccount:
        attributes = account_attributes(account.customer_class, determinant["meter_size"], account.dwelling_units,
                                        account.attributes or {})
        usage = Determinants(determinant["consumption"], determinant["unit"])
        totals = {}
        for which in ("current", "proposed"):
            try:
                totals[which] = bill_total(self.plan(which, account.customer_class).lines(attributes, usage))
            except CannotBill as reason:
                raise CannotBill(f"{which} rates: {reason}") from None
        return PricedAccount(account.account_id, account.customer_class, determinant["meter_size"],
                             totals["current"], totals["proposed"])
