"""Profiles sharing one company, the Preview and the Books check, through the page."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import Company, SyncDocument, SyncProfile

from crm.models import db
from tests.admin_page.conftest import (
    PAGE,
    connect_via_page,
    create_profile,
    flashes,
    page,
    post,
)
from tests.engine.conftest import books, work


def test_a_second_profile_uses_the_connected_company_and_overlap_is_refused(
    signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    roofing = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, roofing)
    siding = create_profile(signed_in, "Siding")
    html = page(signed_in)
    assert "or use a connected company" in html
    company = db.session.scalar(sa.select(Company))
    assert company is not None
    resp = post(signed_in, f"{PAGE}{siding.id}/company", {"company": company.id})
    assert resp.status_code == 302
    assert "Siding now synchronizes into Company A" in flashes(page(signed_in))
    db.session.expire_all()
    assert db.session.get(SyncProfile, siding.id).company_id == company.id  # type: ignore[union-attr]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == 1

    everything = create_profile(signed_in, None)
    post(signed_in, f"{PAGE}{everything.id}/company", {"company": company.id})
    text = flashes(page(signed_in))
    assert "would both synchronize the same sales into Company A" in text
    db.session.expire_all()
    assert db.session.get(SyncProfile, everything.id).company_id is None  # type: ignore[union-attr]


def test_preview_writes_nothing_and_the_books_check_agrees_after_the_run(
    signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    roofing = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, roofing)
    assert "Preview" in page(signed_in) and "Books check" in page(signed_in)
    html = signed_in.get(f"{PAGE}{roofing.id}/preview").get_data(as_text=True)
    assert "create Invoice for sale S409 (new)" in html
    assert "create Payment for receipt R003 (new)" in html
    assert "create Customer for customer William Smith (new)" in html
    assert books(emulator, "Company A").writes() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncDocument)) == 0

    books_page = signed_in.get(f"{PAGE}{roofing.id}/books").get_data(as_text=True)
    assert "William Smith" in books_page and "not in QuickBooks" in books_page

    post(signed_in, f"{PAGE}{roofing.id}/sync")
    work()
    html = signed_in.get(f"{PAGE}{roofing.id}/preview").get_data(as_text=True)
    assert "Nothing to do: QuickBooks holds what the CRM says." in html
    books_page = signed_in.get(f"{PAGE}{roofing.id}/books").get_data(as_text=True)
    assert "agree with the CRM" in books_page
