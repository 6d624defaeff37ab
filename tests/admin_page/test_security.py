"""The page's walls: login on every route, a CSRF token on every POST, no token or secret in
what the page or its JSON sends."""

from __future__ import annotations

from flask import Flask, g
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.connection import TokenCipher
from qbo_sync.jobs import start_sync
from qbo_sync.models import SyncProfile

from crm.models import db
from tests.admin_page.conftest import PAGE, connect_via_page, create_profile, page
from tests.conftest import CLIENT_SECRET, csrf_token


def _plugin_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every route of the page, with profile id 1."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PAGE):
            continue
        path = rule.rule.replace("<int:profile_id>", "1")
        for arg, value in (
            ("<int:company_id>", "1"),
            ("<int:run_id>", "1"),
            ("<record_kind>", "sale"),
            ("<local_id>", "1"),
        ):
            path = path.replace(arg, value)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_the_page_has_the_expected_routes(app: Flask) -> None:
    assert sorted(_plugin_routes(app)) == [
        ("GET", "/admin/qbo/"),
        ("GET", "/admin/qbo/1/books"),
        ("GET", "/admin/qbo/1/preview"),
        ("GET", "/admin/qbo/callback"),
        ("GET", "/admin/qbo/confirm-company"),
        ("GET", "/admin/qbo/history/1"),
        ("GET", "/admin/qbo/runs/1"),
        ("GET", "/admin/qbo/status"),
        ("GET", "/admin/qbo/timeline/sale/1"),
        ("POST", "/admin/qbo/1/authorize"),
        ("POST", "/admin/qbo/1/clear"),
        ("POST", "/admin/qbo/1/company"),
        ("POST", "/admin/qbo/1/lists"),
        ("POST", "/admin/qbo/1/retry"),
        ("POST", "/admin/qbo/1/schedule"),
        ("POST", "/admin/qbo/1/settings"),
        ("POST", "/admin/qbo/1/sync"),
        ("POST", "/admin/qbo/confirm-company"),
        ("POST", "/admin/qbo/profiles"),
        ("POST", "/admin/qbo/sync-all"),
    ]


def test_every_post_route_refuses_a_missing_csrf_token(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    create_profile(signed_in, "Roofing")  # profile 1 exists, so only CSRF can refuse
    posts = [path for method, path in _plugin_routes(app) if method == "POST"]
    assert len(posts) == 11
    for path in posts:
        resp = signed_in.post(path, data={"segment": str(shop["siding"]), "scope": "all"})
        assert resp.status_code == 400, path
        assert "CSRF" in resp.get_data(as_text=True), path
        wrong = signed_in.post(path, data={"csrf_token": "forged", "segment": "*"})
        assert wrong.status_code == 400, path
    assert db.session.query(SyncProfile).count() == 1


def test_every_route_sends_a_visitor_without_a_session_to_login(
    app: Flask, client: FlaskClient, shop: dict[str, int]
) -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))  # an anonymous session's
    for method, path in _plugin_routes(app):
        g.pop("_login_user", None)
        if method == "GET":
            resp = client.get(path + "?state=x&code=y&realmId=z")
        else:
            resp = client.post(path, data={"csrf_token": token, "segment": "*"})
        assert resp.status_code == 302, (method, path)
        assert resp.headers["Location"].startswith("/login?next="), (method, path)
    assert db.session.query(SyncProfile).count() == 0


def test_no_token_or_secret_in_the_page_or_the_status_json(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    db.session.refresh(profile)
    start_sync(profile)  # queued: the banner and the JSON show it
    cipher = TokenCipher.from_settings(app.extensions["qbo_sync"].settings)
    company = profile.company
    assert company is not None and company.access_token_enc and company.refresh_token_enc
    secrets = [
        cipher.decrypt(company.access_token_enc),
        cipher.decrypt(company.refresh_token_enc),
        company.access_token_enc,
        company.refresh_token_enc,
        CLIENT_SECRET,
        app.config["QBO_SYNC_TOKEN_KEY"],
        app.config["SECRET_KEY"],
    ]
    status = signed_in.get(f"{PAGE}status")
    assert status.status_code == 200 and status.is_json
    body = status.get_data(as_text=True)
    assert status.get_json()["active"] is True
    html = page(signed_in)
    assert "Syncing with QBO" in html
    for secret in secrets:
        assert secret not in body
        assert secret not in html
