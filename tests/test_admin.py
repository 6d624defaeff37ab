"""The back office as a user drives it: login, lists, a sale with lines, CSRF and login walls."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, db
from tests.conftest import csrf_token


@pytest.fixture
def shop(app_ctx: object) -> dict[str, int]:
    seg = MarketSegment(name="Roofing")
    cust = Customer(
        first_name="William",
        last_name="Smith",
        email="psmith@example.com",
        phone="(614) 421-3000",
        street="40 W 1st Ave",
        city="Columbus",
        state="OH",
        postal_code="43201",
    )
    shingles = Product(name="Architectural Shingles", sku="RF-SHG", unit_price=Decimal("118.75"))
    labor = Product(name="Roof Labor", sku="LAB-RF", unit_price=Decimal("65.00"))
    db.session.add_all([seg, cust, shingles, labor])
    db.session.commit()
    return {"segment": seg.id, "customer": cust.id, "shingles": shingles.id, "labor": labor.id}


def test_pages_without_login_go_to_the_login_page(client: FlaskClient) -> None:
    for path in (
        "/admin/",
        "/admin/customer/",
        "/admin/sale/new/",
        "/admin/qbo/",
        "/admin/receipt/",
        "/admin/product/",
        "/admin/marketsegment/",
    ):
        resp = client.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login?next="), path


def test_wrong_password_is_refused(client: FlaskClient, user: object) -> None:
    page = client.get("/login").get_data(as_text=True)
    resp = client.post(
        "/login", data={"username": "office", "password": "nope", "csrf_token": csrf_token(page)}
    )
    assert resp.status_code == 200
    assert "wrong password" in resp.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_lists_customers_and_creates_a_sale_with_two_lines(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    listing = signed_in.get("/admin/customer/")
    assert listing.status_code == 200
    assert "Smith" in listing.get_data(as_text=True)

    form_page = signed_in.get("/admin/sale/new/").get_data(as_text=True)
    resp = signed_in.post(
        "/admin/sale/new/",
        data={
            "csrf_token": csrf_token(form_page),
            "number": "S409",
            "customer": str(shop["customer"]),
            "market_segment": str(shop["segment"]),
            "sold_on": "2026-11-04",
            "status": "sold",
            "lines-0-product": str(shop["shingles"]),
            "lines-0-description": "Tear-off and re-roof",
            "lines-0-quantity": "24",
            "lines-0-unit_price": "118.75",
            "lines-1-product": str(shop["labor"]),
            "lines-1-description": "Crew",
            "lines-1-quantity": "16",
            "lines-1-unit_price": "65.00",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    sale = db.session.scalar(sa.select(Sale).filter_by(number="S409"))
    assert sale is not None and len(sale.lines) == 2
    assert sale.amount == Decimal("3890.00")  # 24 x 118.75 + 16 x 65.00
    db.session.add(
        Receipt(
            number="R003",
            kind="receipt",
            customer_id=shop["customer"],
            sale_id=sale.id,
            received_on=date(2026, 11, 6),
            payment_method="Check",
            amount=Decimal("1500.00"),
        )
    )
    db.session.commit()

    row = signed_in.get("/admin/sale/?search=S409").get_data(as_text=True)
    assert "S409" in row
    assert "3,890.00" in row  # amount
    assert "2,390.00" in row  # balance due after the R003 receipt
    customers = signed_in.get("/admin/customer/").get_data(as_text=True)
    assert "2,390.00" in customers  # the customer's balance due


def test_post_without_csrf_token_is_refused(signed_in: FlaskClient, shop: dict[str, int]) -> None:
    resp = signed_in.post("/admin/marketsegment/new/", data={"name": "Gutters"})
    assert resp.status_code == 400
    assert db.session.scalar(sa.select(MarketSegment).filter_by(name="Gutters")) is None
    ok = signed_in.post(
        "/admin/marketsegment/new/",
        data={
            "name": "Gutters",
            "csrf_token": csrf_token(
                signed_in.get("/admin/marketsegment/new/").get_data(as_text=True)
            ),
        },
    )
    assert ok.status_code == 302
    assert db.session.scalar(sa.select(MarketSegment).filter_by(name="Gutters")) is not None


def test_login_post_without_csrf_is_refused(client: FlaskClient, user: object) -> None:
    resp = client.post("/login", data={"username": "office", "password": "x"})
    assert resp.status_code == 400


def test_login_does_not_redirect_off_site(client: FlaskClient, user: object) -> None:
    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    resp = client.post(
        "/login?next=https://evil.example/",
        data={
            "username": "office",
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(page),
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/admin/"


def test_the_plugin_page_is_in_the_menu(signed_in: FlaskClient) -> None:
    home = signed_in.get("/admin/").get_data(as_text=True)
    assert re.search(r'href="/admin/qbo/"[^>]*>\s*QuickBooks Online Sync', home)
    assert signed_in.get("/admin/qbo/").status_code == 200
