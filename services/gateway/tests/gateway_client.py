"""HTTP helpers the gateway tests share."""
import requests

ADDRESS = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}


def post(base, path, body, **kwargs):
    return requests.post(base + path, json=body, timeout=20, **kwargs)


def open_account_over_http(base, apn="011-222-333"):
    customer = post(base, "/api/customers", {"name": "Ana Reyes", "email": "ana@example.org",
                                             "mailing_address": ADDRESS})
    parcel = post(base, "/api/parcels", {"apn": apn, "situs_address": ADDRESS, "owner_of_record": "Ana Reyes"})
    connection = post(base, "/api/connections", {"apn": apn, "authorized_meter_size": "5/8"})
    account = post(base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                           "connection_id": connection.json()["connection_id"]})
    return customer, parcel, connection, account
