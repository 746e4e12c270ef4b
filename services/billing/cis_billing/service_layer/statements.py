"""The account statement v2: bills with every line's explanation, payments and adjustments.

"Why is my bill this amount" is answered from the stored lines alone: the tariff version and
charge that produced each line, its quantity, unit and rate, tier bounds, days and proration.
"""
import sqlalchemy as sa

from cis_billing.adapters.models import BillLine
from cis_billing.service_layer.adjustments import adjustments_of
from cis_billing.service_layer.services import account_statement, line_view


def account_statement_v2(uow, account_id: str) -> dict:
    statement = account_statement(uow, account_id)  # raises NotFound for an unknown account
    bill_ids = [bill["bill_id"] for bill in statement["bills"]]
    lines = explained_lines_of(uow, bill_ids)
    for bill in statement["bills"]:
        bill["lines"] = lines.get(bill["bill_id"], [])
    return {**statement, "adjustments": adjustments_of(uow, account_id)}


def explained_lines_of(uow, bill_ids: list[str]) -> dict[str, list[dict]]:
    rows = uow.session.scalars(sa.select(BillLine).where(BillLine.bill_id.in_(bill_ids))
                               .order_by(BillLine.bill_id, BillLine.line_no)).all()
    found: dict[str, list[dict]] = {}
    for line in rows:
        found.setdefault(line.bill_id, []).append({
            **line_view(line), "charge": line.charge, "tier_from": line.tier_from, "tier_to": line.tier_to,
            "days": line.days, "proration": line.proration})
    return found
