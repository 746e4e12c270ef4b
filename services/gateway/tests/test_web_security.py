"""The Flask gateway's security: every route in the permission table, 401/403 generated from it, CSRF,
the Origin check, sessions, lockout, headers, and the audit log of every state change."""
import re

import pytest
import sqlalchemy as sa

from cis_gateway import permissions
from cis_gateway.web import STATE_CHANGING, permission_rule

PASSWORD = "correct horse battery"


def app_routes(app):
    return {(method, permission_rule(rule.rule)) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_in_the_permission_table_and_the_table_names_no_other(web_app):
    routes = {permissions.route_key(m, r) for m, r in app_routes(web_app)}
    assert routes == set(permissions.ROUTES)
    known = {p for perms in permissions.ROLES.values() for p in perms} | {permissions.PUBLIC,
                                                                          permissions.AUTHENTICATED}
    assert set(permissions.ROUTES.values()) <= known
    assert {"administrator", "supervisor", "billing_technician", "customer_service_representative", "collections",
            "accounting", "operations_liaison", "read_only_auditor"} <= set(permissions.ROLES)


def _state_changing_routes():
    from cis_gateway.web import create_app
    app = create_app(store=object(), secret_key="x")
    return sorted((m, r) for m, r in app_routes(app)
                  if m in STATE_CHANGING and permissions.required(m, r) != permissions.PUBLIC)


def _url(rule):
    return re.sub(r"<(?:int:)?[a-z_]+>", lambda m: "7" if "int:" in m.group(0) else "X1", rule)


@pytest.mark.parametrize("method,rule", _state_changing_routes())
def test_state_change_without_credentials_is_401_and_with_a_role_lacking_the_permission_403(
        web_app, fresh_store, method, rule):
    client = web_app.test_client()
    unauthenticated = client.open(_url(rule), method=method, json={})
    assert unauthenticated.status_code == 401, unauthenticated.get_data(as_text=True)

    needed = permissions.required(method, rule)
    lacking = [role for role, perms in sorted(permissions.ROLES.items()) if needed not in perms]
    if needed == permissions.AUTHENTICATED:
        assert lacking == sorted(permissions.ROLES)  # any logged-in user may, so no 403 case
        return
    assert lacking, f"every role may {needed}"
    for role in lacking:
        token = fresh_store.create_token(f"probe-{role}", role)
        refused = client.open(_url(rule), method=method, json={}, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403, (role, refused.get_data(as_text=True))
        if rule.startswith("/api/"):
            assert refused.json["error"] == "forbidden"
        else:  # a staff page answers with a page saying so
            assert 'data-error="forbidden"' in refused.get_data(as_text=True)
    audited = fresh_store.audit_rows(limit=1000)
    assert {row["outcome"] for row in audited} == {"refused"}
    assert all(row["route"] == rule and row["method"] == method for row in audited)


def test_a_revoked_or_forged_token_is_401(web_app, fresh_store):
    client = web_app.test_client()
    token = fresh_store.create_token("billing-export", "accounting")
    assert client.post("/api/payments", json={}, headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert fresh_store.revoke_token("_".join(token.split("_")[:2]))
    assert client.post("/api/payments", json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with fresh_store.engine.connect() as connection:  # only the hash is kept
        stored = connection.scalar(sa.text("select secret_hash from api_tokens"))
    assert token.split("_", 2)[2] not in stored


def _csrf(client):
    form = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)


def _login(client, user_id="ana", password=PASSWORD):
    """Logs in; returns the answer and the CSRF token of the new session (login starts a fresh one)."""
    response = client.post("/login", data={"user_id": user_id, "password": password, "csrf_token": _csrf(client)})
    return response, _csrf(client)


def test_login_sets_a_strict_httponly_session_and_logout_ends_it(web_app, fresh_store):
    fresh_store.create_user("ana", "Ana Reyes", "read_only_auditor", PASSWORD)
    client = web_app.test_client()
    assert client.get("/").status_code == 302  # pages send the anonymous to the login page
    response, csrf = _login(client)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with fresh_store.engine.connect() as connection:
        stored = connection.scalar(sa.text("select password_hash from staff_users"))
    assert stored.startswith("$argon2id$")
    assert client.get("/login").status_code == 200
    assert client.post("/logout", headers={"X-CSRFToken": csrf}).status_code == 303
    assert client.post("/api/payments", json={}, headers={"X-CSRFToken": csrf}).status_code == 401
    logins = [r for r in fresh_store.audit_rows() if r["route"] == "/login"]
    assert [r["outcome"] for r in logins] == ["done"] and logins[0]["actor"] == "ana"


def test_five_wrong_passwords_lock_the_account(web_app, fresh_store):
    fresh_store.create_user("ana", "Ana Reyes", "supervisor", PASSWORD)
    client = web_app.test_client()
    for _ in range(5):
        assert _login(client, password="wrong password!")[0].status_code == 401
    assert _login(client)[0].status_code == 401  # locked, even with the right password
    assert [r["outcome"] for r in fresh_store.audit_rows()] == ["refused"] * 6


def test_login_without_its_csrf_token_is_refused(web_app, fresh_store):
    fresh_store.create_user("ana", "Ana Reyes", "supervisor", PASSWORD)
    response = web_app.test_client().post("/login", data={"user_id": "ana", "password": PASSWORD})
    assert response.status_code == 403


def test_a_session_needs_the_csrf_header_and_a_same_site_origin_for_a_state_change(web_app, fresh_store):
    fresh_store.create_user("ana", "Ana Reyes", "accounting", PASSWORD)
    client = web_app.test_client()
    _, csrf = _login(client)
    without = client.post("/api/payments", json={})
    assert without.status_code == 403 and without.json["error"] == "csrf_failed"
    cross_site = client.post("/api/payments", data='{"amount": "5.00"}', content_type="text/plain",
                             headers={"Origin": "https://evil.example", "X-CSRFToken": csrf})
    assert cross_site.status_code == 403 and cross_site.json["error"] == "cross_origin"
    plain = client.post("/api/payments", data='{"amount": "5.00"}', content_type="text/plain",
                        headers={"X-CSRFToken": csrf, "Origin": "http://localhost"})
    assert plain.status_code == 400 and plain.json["error"] == "malformed_json"


def test_an_idle_session_expires(web_app, fresh_store):
    fresh_store.create_user("ana", "Ana Reyes", "supervisor", PASSWORD)
    client = web_app.test_client()
    _login(client)
    assert client.get("/login").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] -= 16 * 60
    assert client.get("/").status_code == 302


def test_every_answer_carries_the_security_headers(web_app):
    response = web_app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
        csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script" not in response.get_data(as_text=True)


def test_unknown_api_url_is_json_404(web_app, fresh_store):
    token = fresh_store.create_token("t", "read_only_auditor")
    response = web_app.test_client().get("/api/nothing", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_the_audit_log_is_append_only(fresh_store):
    fresh_store.audit(actor="x", actor_kind="user", method="POST", route="/r", status=201, outcome="done",
                      correlation_id="c")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with fresh_store.engine.begin() as connection:
            connection.execute(sa.text("delete from audit_log"))


def test_the_admin_cli_creates_users_and_tokens_that_work(web_app, fresh_store, capsys, monkeypatch):
    from cis_gateway import admin

    assert admin.main(["create-user", "ana", "--name", "Ana Reyes", "--role", "supervisor"]) == 0
    password = capsys.readouterr().out.split("\t")[2].strip()
    assert fresh_store.authenticate("ana", password)["role"] == "supervisor"
    assert admin.main(["create-user", "bo", "--name", "Bo", "--role", "janitor"]) == 2
    assert admin.main(["create-token", "head-end", "--role", "operations_liaison"]) == 0
    token = capsys.readouterr().out.strip()
    assert fresh_store.token(token)["system"] == "head-end"
    assert admin.main(["revoke-token", "_".join(token.split("_")[:2])]) == 0
    assert fresh_store.token(token) is None

    made = admin.new_token()
    monkeypatch.setenv("CIS_GATEWAY_BOOTSTRAP_TOKEN", made)
    admin.bootstrap_token_from_environment(fresh_store)
    admin.bootstrap_token_from_environment(fresh_store)  # again at the next start: no duplicate
    assert fresh_store.token(made)["role"] == "administrator"
    assert admin.main(["create-user", "ana", "--name", "Ana Again", "--role", "supervisor"]) == 2  # exists

    next_start = admin.new_token()
    monkeypatch.setenv("CIS_GATEWAY_BOOTSTRAP_TOKEN", next_start)
    admin.bootstrap_token_from_environment(fresh_store)
    assert fresh_store.token(next_start)["role"] == "administrator"
    assert fresh_store.token(made) is None  # the earlier start's token no longer opens anything
