"""Cookies and response headers: HttpOnly and SameSite=Lax cookies, Secure with HSTS over HTTPS
(BACKOFFICE_HTTPS), no framing, nosniff, and a CSP that allows exactly the inline code of the
admin pages (every inline script carries the nonce, every inline handler is allowed by hash)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from crm.security import csp_hash, https_setting
from tests.conftest import PASSWORD, csrf_token
from tests.security.conftest import variant
from tests.security.test_login import make_user

HANDLER = re.compile(r"""\s(on[a-z]+)=(?:"([^"]*)"|'([^']*)')""")
SCRIPT = re.compile(r"<script\b([^>]*)>", re.S)


def cookie_attributes(resp: TestResponse, name: str) -> list[str]:
    for header in resp.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return [part.strip().lower() for part in header.split(";")[1:]]
    raise AssertionError(f"no {name} cookie set: {resp.headers.getlist('Set-Cookie')}")


def sign_in(client: FlaskClient, base: str = "") -> TestResponse:
    token = csrf_token(client.get(f"{base}/login").get_data(as_text=True))
    return client.post(
        f"{base}/login",
        data={"username": "header-user", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": f"{base or 'http://localhost'}/login"},  # checked over https
    )


@pytest.fixture
def https_site(site: Flask) -> Iterator[Flask]:
    """The back office as deployed: BACKOFFICE_HTTPS on (same database and Redis as `site`)."""
    app = variant(site, BACKOFFICE_HTTPS=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_https_is_on_by_default_outside_tests_and_the_setting_turns_it_off() -> None:
    assert https_setting({}, {}) is True
    assert https_setting({"TESTING": True}, {}) is False
    assert https_setting({}, {"BACKOFFICE_HTTPS": "0"}) is False
    assert https_setting({"TESTING": True}, {"BACKOFFICE_HTTPS": "1"}) is True
    assert https_setting({"BACKOFFICE_HTTPS": False}, {"BACKOFFICE_HTTPS": "1"}) is False


def test_over_http_cookies_are_httponly_and_lax_and_there_is_no_hsts(site: Flask) -> None:
    make_user(site, "header-user")
    client = site.test_client()
    resp = sign_in(client)
    assert resp.status_code == 302
    attrs = cookie_attributes(resp, "session")
    assert "httponly" in attrs and "samesite=lax" in attrs and "secure" not in attrs
    assert "Strict-Transport-Security" not in resp.headers
    assert site.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert site.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert site.config["REMEMBER_COOKIE_SECURE"] is False


def test_over_https_cookies_are_secure_hsts_is_sent_and_http_redirects(
    https_site: Flask,
) -> None:
    make_user(https_site, "header-user")
    client = https_site.test_client()
    plain = client.get("http://localhost/login")
    assert plain.status_code == 302
    assert plain.headers["Location"] == "https://localhost/login"
    resp = sign_in(client, "https://localhost")
    assert resp.status_code == 302
    attrs = cookie_attributes(resp, "session")
    assert {"secure", "httponly", "samesite=lax"} <= set(attrs)
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31556926")  # a year
    assert https_site.config["REMEMBER_COOKIE_SECURE"] is True
    page = client.get("https://localhost/admin/customer/")
    assert page.status_code == 200 and "max-age" in page.headers["Strict-Transport-Security"]


def test_the_login_page_cannot_be_framed_or_sniffed(site: Flask) -> None:
    resp = site.test_client().get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]


def _shop(app: Flask) -> dict[str, int]:
    with app.app_context():
        seg = MarketSegment(name="Roofing")
        cust = Customer(first_name="Ana", last_name="Lopez")
        prod = Product(name="Shingles", unit_price=Decimal("10.00"))
        db.session.add_all([seg, cust, prod])
        db.session.flush()
        sale = Sale(
            number="S1",
            customer_id=cust.id,
            market_segment_id=seg.id,
            sold_on=date(2026, 11, 4),
            lines=[SaleLine(product_id=prod.id, quantity=Decimal("2"), unit_price=Decimal("10"))],
        )
        db.session.add(sale)
        db.session.flush()
        receipt = Receipt(
            number="R1",
            customer_id=cust.id,
            sale_id=sale.id,
            received_on=date(2026, 11, 5),
            amount=Decimal("5.00"),
        )
        db.session.add(receipt)
        db.session.commit()
        return {
            "customer": cust.id,
            "sale": sale.id,
            "receipt": receipt.id,
            "product": prod.id,
            "marketsegment": seg.id,
        }


def admin_pages(ids: dict[str, int]) -> list[str]:
    pages = ["/admin/", "/admin/qbo/"]
    for view, id_ in ids.items():
        pages += [f"/admin/{view}/", f"/admin/{view}/new/", f"/admin/{view}/edit/?id={id_}"]
    return pages


def test_every_inline_script_and_handler_of_the_admin_pages_is_allowed_by_the_csp(
    site: Flask,
) -> None:
    make_user(site, "header-user")
    ids = _shop(site)
    client = site.test_client()
    assert sign_in(client).status_code == 302
    handlers: set[str] = set()
    for path in admin_pages(ids):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce, csp
        html = resp.get_data(as_text=True)
        for attrs in SCRIPT.findall(html):
            if "src=" not in attrs:
                assert f'nonce="{nonce.group(1)}"' in attrs, (path, attrs)
        assert "<style" not in html, path
        for _name, double, single in HANDLER.findall(html):
            handler = unescape(double or single)
            handlers.add(handler)
            assert csp_hash(handler) in csp, (path, handler)
    assert "faForm.addInlineField(this, 'lines');" in handlers  # the sale form was seen
