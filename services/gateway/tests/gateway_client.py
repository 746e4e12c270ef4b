"""HTTP helpers the gateway tests share (`http`: a requests.Session carrying an API token)."""
ADDRESS = {"line1": "12 Orchard Ln", "city": "Ojai", "zip": "93023"}


def post(http, base, path, body, **kwargs):
    return http.post(base + path, json=body, timeout=20, **kwargs)


def open_account_over_http(http, base, apn="011-222-333"):
    customer = post(http, base, "/api/customers", {"name": "Ana Reyes", "email": "ana@example.org",
                                                   "mailing_address": ADDRESS})
    parcel = post(http, base, "/api/parcels", {"apn": apn, "situs_address": ADDRESS, "owner_of_record": "Ana Reyes"})
    connection = post(http, base, "/api/connections", {"apn": apn, "authorized_meter_size": "5/8"})
    account = post(http, base, "/api/accounts", {"customer_id": customer.json()["customer_id"],
                                                 "connection_id": connection.json()["connection_id"]})
    return customer, parcel, connection, account
