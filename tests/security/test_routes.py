"""Every route of the app, from its URL map (the CRM's Flask-Admin views, the plugin's page, login,
static files): without a session it sends the visitor to the sign-in page; every POST without a
CSRF token is refused; no GET changes the database; every response carries the security headers."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import Base as PluginBase
from qbo_sync.models import EventKind, SyncEvent, SyncProfile
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from crm.models import db
from tests.admin_page.conftest import connect_via_page
from tests.conftest import csrf_token
from tests.security.test_headers import _shop, sign_in
from tests.security.test_login import make_user

# Endpoints a visitor without a session may reach, and why.
PUBLIC = {
    "auth.login": "the sign-in page itself",
    "auth.home": "only redirects to /admin/, which asks for a sign-in",
    "static": "the back office's own script, no data",
    "admin.static": "Flask-Admin's CSS and scripts, no data",
    "qbo_sync.static": "the plugin page's script, no data",
}
STATIC_FILES = {
    "static": "backoffice.js",
    "admin.static": "bootstrap/bootstrap4/css/bootstrap.min.css",
    "qbo_sync.static": "progress.js",
}
# Harmless query arguments every GET gets: an OAuth callback's, an ajax lookup's (and `id`).
QUERY = "state=x&code=y&realmId=z&name=customer&query=a"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def routes(
    app: Flask, profile_id: int = 1, sale_id: int = 1, company_id: int = 1
) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every rule and method, with sample values for its variables."""
    out = []
    for rule in app.url_map.iter_rules():
        path = _path(
            rule,
            {
                "profile_id": profile_id,
                "export_type": "csv",
                "company_id": company_id,
                "run_id": 1,
                "record_kind": "sale",
                "local_id": sale_id,
            },
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, path))
    return sorted(out)


def _path(rule: Rule, args: dict[str, object]) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = STATIC_FILES[rule.endpoint] if name == "filename" else args[name]
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def database_rows() -> dict[str, list[Any]]:
    """Every row of every table, CRM and plugin, in key order."""
    out = {}
    for table in [*db.metadata.sorted_tables, *PluginBase.metadata.sorted_tables]:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(row) for row in rows]
    return out


def ids_of(rows: dict[str, list[Any]]) -> list[int]:
    """The ids of the timeline's events among these rows."""
    return [row[0] for row in rows["qbo_sync_event"]]


def assert_security_headers(resp: TestResponse, what: object) -> None:
    assert resp.headers.get("X-Frame-Options") == "DENY", what
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", what
    assert "frame-ancestors 'none'" in resp.headers.get("Content-Security-Policy", ""), what


def test_the_map_holds_the_crm_views_the_plugin_page_and_login(site: Flask) -> None:
    endpoints = {endpoint for endpoint, _m, _p in routes(site)}
    views = ("customer", "sale", "receipt", "product", "marketsegment")
    for view in views:
        assert {f"{view}.index_view", f"{view}.edit_view", f"{view}.delete_view"} <= endpoints
    assert {"qbo.index", "qbo.sync", "qbo.callback", "auth.login", "auth.logout"} <= endpoints
    assert set(PUBLIC) <= endpoints
    assert len(routes(site)) >= 70


def test_without_a_session_every_route_but_the_public_ones_goes_to_the_login_page(
    site: Flask,
) -> None:
    client = site.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))  # an anonymous session's
    checked = 0
    for endpoint, method, path in routes(site):
        if endpoint in PUBLIC:
            continue
        if method == "GET":
            resp = client.get(f"{path}?{QUERY}")
        else:
            resp = client.open(path, method=method, data={"csrf_token": token})
        assert resp.status_code == 302, (method, path, resp.status_code)
        assert resp.headers["Location"].startswith("/login?next="), (method, path)
        assert_security_headers(resp, (method, path))
        checked += 1
    assert checked >= 60
    home = client.get("/", follow_redirects=True)
    assert home.request.path == "/login" and "Back Office sign in" in home.get_data(as_text=True)
    for endpoint, filename in STATIC_FILES.items():
        resp = client.get(
            f"/static/{'qbo_sync/' if endpoint == 'qbo_sync.static' else ''}{filename}"
            if endpoint != "admin.static"
            else f"/admin/static/{filename}"
        )
        assert resp.status_code == 200, (endpoint, filename)
        assert_security_headers(resp, endpoint)
        resp.close()


def _signed_in(site: Flask) -> tuple[FlaskClient, dict[str, int]]:
    """A signed-in client, and the id of a row of each CRM view and of a sync profile ("qbo")."""
    make_user(site, "header-user")
    client = site.test_client()
    assert sign_in(client).status_code == 302
    token = csrf_token(client.get("/admin/qbo/").get_data(as_text=True))
    ids = _shop(site)
    resp = client.post(
        "/admin/qbo/profiles", data={"segment": str(ids["marketsegment"]), "csrf_token": token}
    )
    assert resp.status_code == 302
    with site.app_context():
        ids["qbo"] = db.session.scalar(sa.select(SyncProfile.id))
    return client, ids


def test_every_write_without_a_csrf_token_is_refused(site: Flask) -> None:
    client, ids = _signed_in(site)
    with site.app_context():
        before = database_rows()
    writes = [(e, m, p) for e, m, p in routes(site, ids["qbo"]) if m in WRITES]
    assert len(writes) >= 30
    for _endpoint, method, path in writes:
        resp = client.open(path, method=method, data={"id": "1", "segment": "*", "scope": "all"})
        assert resp.status_code == 400, (method, path, resp.status_code)
        assert "CSRF" in resp.get_data(as_text=True), (method, path)
        forged = client.open(path, method=method, data={"csrf_token": "forged", "id": "1"})
        assert forged.status_code == 400, (method, path)
    with site.app_context():
        assert database_rows() == before
    assert client.get("/admin/customer/").status_code == 200  # still signed in: logout refused


def test_no_get_changes_the_database(site: Flask, emulator: EmulatorProcess) -> None:
    client, ids = _signed_in(site)
    with site.app_context():  # connected to Company A: the preview and books check read it
        profile = db.session.get(SyncProfile, ids["qbo"])
        connected = connect_via_page(client, emulator, profile)
        assert connected.status_code == 200
        db.session.refresh(profile)
        company_id = profile.company_id
        assert company_id is not None
        before = database_rows()
    assert before["qbo_sync_company"]
    assert before["sale"] and before["qbo_sync_profile"]
    gets = [(e, p) for e, m, p in routes(site, ids["qbo"], ids["sale"], company_id) if m == "GET"]
    statuses = {}
    for endpoint, path in gets:
        resp = client.get(f"{path}?{QUERY}&id={ids.get(endpoint.split('.')[0], 0)}")
        statuses[path] = resp.status_code
        assert resp.status_code < 500, (path, resp.status_code)
        assert_security_headers(resp, path)
        resp.close()
        with site.app_context():
            after = database_rows()
            if endpoint == "qbo.preview_plan":
                # the one thing a preview keeps: on each record's timeline, that it was previewed
                added = db.session.scalars(
                    sa.select(SyncEvent.event).where(SyncEvent.id.not_in(ids_of(before)))
                ).all()
                assert added and set(added) == {EventKind.PREVIEWED}, added
                before = {**before, "qbo_sync_event": after["qbo_sync_event"]}
            assert after == before, (endpoint, path)
    assert client.get("/admin/customer/").status_code == 200  # still signed in
    pages = [p for p in statuses if not p.endswith(("/details/", "/export/csv/", "callback"))]
    pages = [
        p for p in pages if "ajax" not in p and "confirm" not in p and p not in ("/", "/login")
    ]
    pages = [p for p in pages if "/runs/" not in p]  # no run yet: run 1's page is not found
    assert {p: s for p, s in statuses.items() if p in pages and s != 200} == {}
