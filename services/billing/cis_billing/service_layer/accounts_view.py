"""Billing's view of accounts kept from the accounts service's events (account_opened is in services.py).

Each consumer is idempotent: the handler's inbox drops a redelivery, and an attribute change
carries a revision so a late (older) event cannot undo a newer one.
"""
import sqlalchemy as sa

from cis_billing.adapters.models import Account

ACCOUNTS = Account.__table__
# what accounts sends -> the keys of billing's accounts.attributes JSON the engine reads
# (docs/tariffs.md); winter_average is not accounts' to send and is kept as it is
SENT_ATTRIBUTES = ("residents", "landscape_area_sqft", "budget_variance", "budget_variance_reason",
                   "fire_line_size")


class AccountNotYetKnown(Exception):
    """The account's opening has not reached billing yet (events travel on separate queues):
    the handler fails, and the message is retried until it has, or dead-lettered."""


def record_attributes_changed(uow, payload: dict) -> None:
    account = _known_account(uow, payload["account_id"])
    if payload["revision"] <= account.attributes_revision:
        return  # an older or repeated change
    attributes = {key: value for key, value in account.attributes.items() if key not in SENT_ATTRIBUTES}
    for name in SENT_ATTRIBUTES:
        if payload.get(name) is not None:
            attributes[name] = _json_value(payload[name])
    uow.session.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.account_id == account.account_id).values(
        attributes=attributes, dwelling_units=payload["dwelling_units"], attributes_revision=payload["revision"]))


def record_account_closed(uow, payload: dict) -> None:
    """A closed account is left out of every bill run started after this (runs take open accounts)."""
    account = _known_account(uow, payload["account_id"])
    uow.session.execute(sa.update(ACCOUNTS).where(ACCOUNTS.c.account_id == account.account_id).values(
        status="closed", closed_on=payload["closed_on"]))


def _known_account(uow, account_id: str) -> Account:
    account = uow.session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise AccountNotYetKnown(f"account {account_id} has not been opened in billing yet")
    return account


def _json_value(value):
    """Decimals are kept as decimal strings in the JSON (the engine reads them back exactly)."""
    return value if isinstance(value, (int, str)) else str(value)
