"""The CRM's own forms refuse what can never be valid, each with a clear message on the form,
and save nothing: a negative or fractional-cent price, a negative quantity, an empty or
whitespace sale number (or one with a tab), an empty customer name, a receipt of 0 (or a
negative receipt), a date out of range, a receipt with no sale; a good form still saves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.conftest import csrf_token


@pytest.fixture
def shop(app_ctx: object) -> dict[str, int]:
    seg = MarketSegment(name="Roofing")
    cust = Customer(first_name="William", last_name="Smith")
    shingles = Product(name="Shingles", unit_price=Decimal("118.75"))
    db.session.add_all([seg, cust, shingles])
    db.session.flush()
    sale = Sale(number="S1", customer_id=cust.id, market_segment_id=seg.id, sold_on=_day())
    sale.lines = [SaleLine(product_id=shingles.id, quantity=Decimal(1), unit_price=Decimal(100))]
    db.session.add(sale)
    db.session.commit()
    return {"segment": seg.id, "customer": cust.id, "product": shingles.id, "sale": sale.id}


def _day() -> date:
    return date(2026, 11, 4)


def _post(client: FlaskClient, view: str, data: dict[str, str]) -> tuple[int, str]:
    page = client.get(f"/admin/{view}/new/").get_data(as_text=True)
    resp = client.post(f"/admin/{view}/new/", data={"csrf_token": csrf_token(page), **data})
    return resp.status_code, " ".join(unescape(resp.get_data(as_text=True)).split())


def _sale(shop: dict[str, int], **changes: str) -> dict[str, str]:
    data = {
        "number": "S409",
        "customer": str(shop["customer"]),
        "market_segment": str(shop["segment"]),
        "sold_on": "2026-11-04",
        "status": "sold",
        "lines-0-product": str(shop["product"]),
        "lines-0-description": "Re-roof",
        "lines-0-quantity": "24",
        "lines-0-unit_price": "118.75",
    }
    data.update(changes)
    return data


def _sales() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Sale)) or 0)


SALE_CASES = (
    ({"lines-0-quantity": "-2"}, "Quantity cannot be negative (it is -2)."),
    ({"lines-0-quantity": "1.005"}, "Quantity has at most two decimals"),
    ({"lines-0-unit_price": "-118.75"}, "Unit price cannot be negative (it is -118.75)."),
    ({"lines-0-unit_price": "118.755"}, "Unit price is money: at most two decimals (cents)"),
    ({"number": ""}, "This field is required."),
    ({"number": "   "}, "Enter a sale number; it cannot be empty or only spaces."),
    ({"number": "S\t409"}, "The sale number cannot contain tabs, line breaks"),
    ({"number": "S" * 22}, "Field cannot be longer than 21 characters."),
    ({"sold_on": "1899-12-31"}, "Sold on 1899-12-31 is out of range: enter a date between"),
    ({"sold_on": "3000-01-01"}, "Sold on 3000-01-01 is out of range"),
)


def test_sale_form_refuses_what_can_never_be_valid(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    before = _sales()
    for changes, message in SALE_CASES:
        status, text = _post(signed_in, "sale", _sale(shop, **changes))
        assert status == 200, (changes, "the form is shown again, not saved")
        assert message in text, (changes, message, text[:3000])
        db.session.expire_all()
        assert _sales() == before, changes


def test_a_good_sale_still_saves(signed_in: FlaskClient, shop: dict[str, int]) -> None:
    status, text = _post(signed_in, "sale", _sale(shop, **{"lines-0-quantity": "0.5"}))
    assert status == 302, text[:3000]
    sale = db.session.scalar(sa.select(Sale).filter_by(number="S409"))
    assert sale is not None and sale.amount == Decimal("59.38")


def _customer(**changes: str) -> dict[str, str]:
    return {"first_name": "Ann", "last_name": "Lee", **changes}


CUSTOMER_CASES = (
    ({"first_name": ""}, "This field is required."),
    ({"first_name": "  "}, "Enter the customer's first name; it cannot be empty"),
    ({"last_name": "\t"}, "Enter the customer's last name; it cannot be empty"),
    ({"first_name": "A" * 101}, "Field cannot be longer than 100 characters."),
)


def test_customer_form_refuses_an_empty_or_overlong_name(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    for changes, message in CUSTOMER_CASES:
        status, text = _post(signed_in, "customer", _customer(**changes))
        assert status == 200 and message in text, (changes, message, text[:3000])
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1


def _receipt(shop: dict[str, int], **changes: str) -> dict[str, str]:
    return {
        "number": "R1",
        "kind": "receipt",
        "customer": str(shop["customer"]),
        "sale": str(shop["sale"]),
        "received_on": "2026-11-06",
        "payment_method": "Check",
        "amount": "40.00",
        **changes,
    }


RECEIPT_CASES = (
    ({"amount": "0"}, "An amount of 0 records nothing"),
    ({"amount": "0.00", "kind": "adjustment"}, "An amount of 0 records nothing"),
    ({"amount": "-40"}, "A receipt is money received: its amount must be more than 0"),
    ({"amount": "40.001"}, "Amount is money: at most two decimals (cents)"),
    ({"number": " "}, "Enter a receipt number; it cannot be empty or only spaces."),
    ({"received_on": "1066-10-14"}, "Received on 1066-10-14 is out of range"),
    ({"sale": ""}, "This field is required."),
)


def test_receipt_form_refuses_what_can_never_be_valid(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    for changes, message in RECEIPT_CASES:
        status, text = _post(signed_in, "receipt", _receipt(shop, **changes))
        assert status == 200 and message in text, (changes, message, text[:3000])
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0


def test_a_negative_adjustment_and_a_good_receipt_still_save(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    for data in (
        _receipt(shop, number="A1", kind="adjustment", amount="-25.00"),
        _receipt(shop),
    ):
        status, text = _post(signed_in, "receipt", data)
        assert status == 302, text[:3000]
    db.session.expire_all()
    amounts = sorted(r.amount for r in db.session.scalars(sa.select(Receipt)))
    assert amounts == [Decimal("-25.00"), Decimal("40.00")]


def test_product_form_refuses_a_negative_or_fractional_cent_price(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    for price, message in (
        ("-1", "Unit price cannot be negative"),
        ("9.999", "Unit price is money: at most two decimals"),
    ):
        status, text = _post(signed_in, "product", {"name": "Gutter", "unit_price": price})
        assert status == 200 and message in text, text[:3000]
    assert db.session.scalar(sa.select(Product).filter_by(name="Gutter")) is None
