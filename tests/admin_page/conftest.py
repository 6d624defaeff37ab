"""Request-test helpers for the QuickBooks Online Sync page: a small shop, and the OAuth round
trip driven through the page, the emulator's consent form and the page's callback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue
from qbo_sync.models import SyncProfile
from werkzeug.test import TestResponse

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.conftest import CLIENT_ID, REDIRECT_URI, csrf_token

PAGE = "/admin/qbo/"


@pytest.fixture(autouse=True)
def _empty_queue(app_ctx: object) -> Iterator[None]:
    """No job of another test is left in the plugin's queue, nor one of these for the next."""
    queue().empty()
    yield
    queue().empty()


@pytest.fixture
def shop(app_ctx: object) -> dict[str, int]:
    """Roofing and Siding; one Roofing sale of 1,000.00 with a good receipt of 400.00."""
    roofing, siding = MarketSegment(name="Roofing"), MarketSegment(name="Siding")
    cust = Customer(first_name="William", last_name="Smith", email="psmith@example.com")
    shingles = Product(name="Architectural Shingles", unit_price=Decimal("100.00"))
    db.session.add_all([roofing, siding, cust, shingles])
    db.session.flush()
    sale = Sale(
        number="S409",
        customer_id=cust.id,
        market_segment_id=roofing.id,
        sold_on=date(2026, 11, 4),
        lines=[SaleLine(product_id=shingles.id, quantity=Decimal("10"), unit_price=Decimal("100"))],
    )
    db.session.add(sale)
    db.session.flush()
    receipt = Receipt(
        number="R003",
        kind="receipt",
        customer_id=cust.id,
        sale_id=sale.id,
        received_on=date(2026, 11, 6),
        payment_method="Check",
        amount=Decimal("400.00"),
    )
    db.session.add(receipt)
    db.session.commit()
    return {
        "roofing": roofing.id,
        "siding": siding.id,
        "customer": cust.id,
        "sale": sale.id,
        "receipt": receipt.id,
        "product": shingles.id,
    }


def page(client: FlaskClient) -> str:
    resp = client.get(PAGE)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    """A POST from the page's own form, with the page's CSRF token."""
    body = {"csrf_token": csrf_token(page(client)), **(data or {})}
    return client.post(path, data=body)


def create_profile(client: FlaskClient, segment: str | None) -> SyncProfile:
    if segment is None:
        choice = "*"
    else:
        seg = db.session.scalar(sa.select(MarketSegment).filter_by(name=segment))
        assert seg is not None
        choice = str(seg.id)
    resp = post(client, f"{PAGE}profiles", {"segment": choice})
    assert resp.status_code == 302
    name = segment or "All segments"
    profile = db.session.scalar(sa.select(SyncProfile).filter_by(segment_name=name))
    assert profile is not None
    return profile


def setup_authentication(client: FlaskClient, profile: SyncProfile) -> dict[str, str]:
    """Press "Setup Authentication"; the query of Intuit's (the emulator's) consent URL."""
    resp = post(client, f"{PAGE}{profile.id}/authorize")
    assert resp.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["client_id"] == CLIENT_ID
    assert query["state"]
    return query


def consent(
    emu: EmulatorProcess, state: str, company: str = "Company A", action: str = "authorize"
) -> str:
    """The callback path (with its query) the consent page sends the browser back to."""
    url = emu.authorize(CLIENT_ID, REDIRECT_URI, state, company=company, action=action)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    return f"{parts.path}?{parts.query}"


def connect_via_page(
    client: FlaskClient, emu: EmulatorProcess, profile: SyncProfile, company: str = "Company A"
) -> TestResponse:
    state = setup_authentication(client, profile)["state"]
    return client.get(consent(emu, state, company), follow_redirects=True)


def connected_profile(
    client: FlaskClient, emu: EmulatorProcess, segment: str = "Roofing", company: str = "Company A"
) -> SyncProfile:
    """The segment's profile, created and connected through the page."""
    profile = create_profile(client, segment)
    connect_via_page(client, emu, profile, company)
    db.session.refresh(profile)
    assert profile.is_connected and profile.company_id is not None
    return profile


def flashes(html: str) -> str:
    """The page's text, unescaped and whitespace folded (for assertions on messages)."""
    return " ".join(unescape(html).split())
