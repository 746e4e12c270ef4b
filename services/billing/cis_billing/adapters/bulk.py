"""Bulk writes for the bill run: a set of rows in one statement, never one statement per row."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

_INSERT_BILLS = sa.text("""
    insert into bills (bill_id, account_id, bill_run_id, period_start, period_end, issued_on, due_on, total)
    select b.bill_id, b.account_id, :run_id, :period_start, :period_end, :issued_on, :due_on, b.total
    from unnest(cast(:bill_ids as text[]), cast(:account_ids as text[]), cast(:totals as numeric[]))
         as b(bill_id, account_id, total)
    on conflict on constraint bills_one_per_account_period do nothing
    returning account_id, bill_id
""")


def insert_bills(session: Session, run_id: str, period_start, period_end, issued_on, due_on,
                 bills: list[tuple[str, str, object]]) -> dict[str, str]:
    """Insert (bill_id, account_id, total) rows; returns account_id -> bill_id of those the database took
    (the unique (account, period) index refuses a second bill)."""
    if not bills:
        return {}
    bill_ids, account_ids, totals = zip(*bills)
    return dict(session.execute(_INSERT_BILLS, {
        "run_id": run_id, "period_start": period_start, "period_end": period_end, "issued_on": issued_on,
        "due_on": due_on, "bill_ids": list(bill_ids), "account_ids": list(account_ids),
        "totals": list(totals)}).all())
