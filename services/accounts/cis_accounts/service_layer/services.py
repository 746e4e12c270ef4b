"""Accounts use cases. Each runs in one unit of work: state, events and inbox commit together."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from cis_accounts.adapters.models import Account, Connection, Customer, Parcel, ids
from cis_accounts.domain.model import (ServiceConnection, changed_attributes, check_connection_available,
                                       check_effective_on, check_open, check_paperless_possible, next_identifier,
                                       opening_date)
from cis_runtime.errors import Conflict, NotFound


def _next_id(uow, prefix: str) -> str:
    return next_identifier(prefix, uow.session.execute(ids.next_value()).scalar())


def create_customer(uow, request: dict) -> dict:
    customer = Customer(customer_id=_next_id(uow, "C"), **request)
    uow.session.add(customer)
    uow.commit()
    return customer_view(customer)


def create_parcel(uow, request: dict) -> dict:
    if uow.session.get(Parcel, request["apn"]):
        raise Conflict(f"parcel {request['apn']} already exists")
    parcel = Parcel(**request)
    uow.session.add(parcel)
    uow.commit()
    return parcel_view(parcel)


def authorize_connection(uow, request: dict) -> dict:
    if not uow.session.get(Parcel, request["apn"]):
        raise NotFound("parcel", request["apn"])
    connection = Connection(connection_id=_next_id(uow, "SC"), status="authorized", **request)
    uow.session.add(connection)
    uow.commit()
    return connection_view(connection)


def open_account(uow, request: dict) -> dict:
    customer = uow.session.get(Customer, request["customer_id"])
    if customer is None:
        raise NotFound("customer", request["customer_id"])
    connection = uow.session.get(Connection, request["connection_id"], with_for_update=True)
    if connection is None:
        raise NotFound("connection", request["connection_id"])
    open_count = uow.session.scalar(sa.select(sa.func.count()).select_from(Account).where(
        Account.connection_id == connection.connection_id, Account.status == "open"))
    check_connection_available(_domain_connection(connection), open_count)
    previous_service_through = uow.session.scalar(sa.select(sa.func.max(Account.closed_on)).where(
        Account.connection_id == connection.connection_id))
    account = Account(account_id=_next_id(uow, "A"), customer_id=customer.customer_id,
                      connection_id=connection.connection_id, customer_class=request["customer_class"],
                      bill_cycle=request["bill_cycle"], status="open",
                      opened_on=opening_date(request.get("opened_on"), uow.today(), previous_service_through))
    uow.session.add(account)
    parcel = uow.session.get(Parcel, connection.apn)
    uow.emit("accounts.account_opened.v1", account_opened_payload(account, customer, connection, parcel))
    try:
        uow.commit()
    except IntegrityError:
        raise Conflict(f"connection {connection.connection_id} already has an open account") from None
    return get_account(uow, account.account_id)


def get_account(uow, account_id: str) -> dict:
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    connection = uow.session.get(Connection, account.connection_id)
    return {
        "account_id": account.account_id, "status": account.status,
        "customer_class": account.customer_class, "bill_cycle": account.bill_cycle,
        "opened_on": account.opened_on,
        "customer": customer_view(uow.session.get(Customer, account.customer_id)),
        "connection": connection_view(connection),
        "parcel": parcel_view(uow.session.get(Parcel, connection.apn)),
    }


def change_account_attributes(uow, request: dict) -> dict:
    """Change an account's rate attributes; billing learns them from accounts.account_attributes_changed.v1."""
    account = _locked_account(uow, request["account_id"])
    check_open(account.account_id, account.status)
    effective_on = request.get("effective_on") or uow.today()
    check_effective_on(effective_on, account.opened_on, uow.today(), "effective_on")
    connection = uow.session.get(Connection, account.connection_id, with_for_update=True)
    before = attributes_of(account, connection)
    after = changed_attributes(before, request)
    if after == before:
        return account_attributes_view(account, connection)  # nothing changed: no event
    connection.dwelling_units = after.pop("dwelling_units")
    for name, value in after.items():
        setattr(account, name, value)
    account.attributes_effective_on = effective_on
    account.attributes_revision += 1
    view = account_attributes_view(account, connection)
    uow.emit("accounts.account_attributes_changed.v1", {**view, "changed_by": request["changed_by"]})
    uow.commit()
    return view


def close_account(uow, request: dict) -> dict:
    """Close an account (move-out): the connection is free for the next customer. Both versions of
    account_closed leave in this unit of work: billing and metering read v1, collections and notifications v2
    (which adds the forwarding address the closing bill and final notices go to)."""
    account = _locked_account(uow, request["account_id"])
    check_open(account.account_id, account.status)
    closed_on = request.get("closed_on") or uow.today()
    check_effective_on(closed_on, account.opened_on, uow.today(), "closed_on")
    account.status, account.closed_on, account.close_reason = "closed", closed_on, request["reason"]
    account.forwarding_address = request.get("forwarding_address")
    closed = {"account_id": account.account_id, "closed_on": closed_on, "reason": request["reason"],
              "final_read_requested": request["final_read_requested"]}
    uow.emit("accounts.account_closed.v1", closed)
    uow.emit("accounts.account_closed.v2", {**closed, "forwarding_address": account.forwarding_address})
    uow.commit()
    return get_account(uow, account.account_id)


def set_bill_delivery(uow, request: dict) -> dict:
    """The customer's paper or paperless choice; notifications learns it from accounts.bill_delivery_changed.v1
    (a revision rising by one per change). The choice it already has (paper, when none was made) changes
nothing and emits nothing."""
    account = _locked_account(uow, request["account_id"])
    customer = uow.session.get(Customer, account.customer_id)
    check_paperless_possible(request["paperless"], customer.email)
    if account.paperless == request["paperless"]:
        return bill_delivery_view(account, customer)
    account.paperless = request["paperless"]
    account.bill_delivery_changed_on, account.bill_delivery_changed_by = uow.today(), request["changed_by"]
    account.bill_delivery_revision += 1
    uow.emit("accounts.bill_delivery_changed.v1", {
        "account_id": account.account_id, "paperless": account.paperless, "email": customer.email,
        "changed_on": account.bill_delivery_changed_on, "revision": account.bill_delivery_revision})
    uow.commit()
    return bill_delivery_view(account, customer)


def get_bill_delivery(uow, account_id: str) -> dict:
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return bill_delivery_view(account, uow.session.get(Customer, account.customer_id))


def bill_delivery_view(account: Account, customer: Customer) -> dict:
    return {"account_id": account.account_id, "paperless": account.paperless, "email": customer.email,
            "changed_on": account.bill_delivery_changed_on, "changed_by": account.bill_delivery_changed_by}


def get_account_attributes(uow, account_id: str) -> dict:
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return account_attributes_view(account, uow.session.get(Connection, account.connection_id))


def _locked_account(uow, account_id: str) -> Account:
    account = uow.session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("account", account_id)
    return account


def attributes_of(account: Account, connection: Connection) -> dict:
    return {"dwelling_units": connection.dwelling_units, "residents": account.residents,
            "landscape_area_sqft": account.landscape_area_sqft, "budget_variance": account.budget_variance,
            "budget_variance_reason": account.budget_variance_reason, "fire_line_size": account.fire_line_size}


def account_attributes_view(account: Account, connection: Connection) -> dict:
    return {"account_id": account.account_id, "effective_on": account.attributes_effective_on,
            "revision": account.attributes_revision, **attributes_of(account, connection)}


def list_accounts(uow) -> list[dict]:
    rows = uow.session.execute(
        sa.select(Account.account_id, Account.status, Customer.name, Connection.apn)
        .join(Customer, Customer.customer_id == Account.customer_id)
        .join(Connection, Connection.connection_id == Account.connection_id)
        .order_by(Account.account_id)).all()
    return [dict(row._mapping) for row in rows]


def account_opened_payload(account, customer, connection, parcel) -> dict:
    return {
        "account_id": account.account_id, "customer_id": customer.customer_id,
        "customer_name": customer.name, "email": customer.email, "phone": customer.phone,
        "preferred_language": customer.preferred_language,
        "mailing_address": customer.mailing_address, "service_address": parcel.situs_address,
        "apn": parcel.apn, "owner_of_record": parcel.owner_of_record,
        "connection_id": connection.connection_id,
        "authorized_meter_size": connection.authorized_meter_size,
        "dwelling_units": connection.dwelling_units, "customer_class": account.customer_class,
        "bill_cycle": account.bill_cycle, "opened_on": account.opened_on,
    }


def _domain_connection(row: Connection) -> ServiceConnection:
    return ServiceConnection(row.connection_id, row.apn, row.service_type, row.authorized_meter_size,
                             row.dwelling_units, row.status)


def customer_view(c: Customer) -> dict:
    return {"customer_id": c.customer_id, "name": c.name, "email": c.email, "phone": c.phone,
            "mailing_address": c.mailing_address, "preferred_language": c.preferred_language}


def parcel_view(p: Parcel) -> dict:
    return {"apn": p.apn, "situs_address": p.situs_address, "owner_of_record": p.owner_of_record,
            "owner_mailing_address": p.owner_mailing_address}


def connection_view(c: Connection) -> dict:
    return {"connection_id": c.connection_id, "apn": c.apn, "service_type": c.service_type,
            "authorized_meter_size": c.authorized_meter_size, "dwelling_units": c.dwelling_units,
            "status": c.status}
