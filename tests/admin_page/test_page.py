"""The page as the office manager uses it: profiles, settings, synchronizing with the banner,
the details, Clear Connection, the Sale list's QuickBooks column, and escaping."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import RunStatus, SyncDocument, SyncProfile, SyncRun

from crm.models import MarketSegment, Sale, db
from tests.admin_page.conftest import (
    PAGE,
    connect_via_page,
    create_profile,
    flashes,
    page,
    post,
)
from tests.conftest import OFFICE_ZONE, PHASE_LINES
from tests.engine.conftest import work


def _options(html: str, name: str) -> dict[str, tuple[str, bool]]:
    """name -> (value, selected) of a select's options."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    return {
        label.strip(): (value, bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1)
        )
    }


def test_profiles_are_created_per_segment_and_for_all_segments(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    html = page(signed_in)
    assert "No QuickBooks Online workbook is connected yet." in html
    assert _options(html, "segment") == {
        "Roofing": (str(shop["roofing"]), False),
        "Siding": (str(shop["siding"]), False),
        "All segments": ("*", False),
    }
    create_profile(signed_in, "Roofing")
    create_profile(signed_in, None)
    html = page(signed_in)
    assert list(_options(html, "segment")) == ["Siding"]
    text = flashes(html)
    assert "Market Segment" in text and "Not connected" in text
    assert "never synchronized" in text
    again = post(signed_in, f"{PAGE}profiles", {"segment": str(shop["roofing"])})
    assert again.status_code == 302
    assert "Roofing has a profile already." in flashes(page(signed_in))
    assert db.session.scalar(sa.select(sa.func.count(SyncProfile.id))) == 2


def test_settings_persist_with_accounts_from_the_company(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company B")
    html = page(signed_in)
    for label in ("Market Segment", "Sync Data After", "Accounts Receivable Account"):
        assert label in html
    assert "Income Account" in html and ">Save<" in html
    ar = _options(html, "ar_account")
    income = _options(html, "income_account")
    deposit = _options(html, "deposit_account")
    assert list(ar) == ["Accounts Receivable (A/R)"] and ar["Accounts Receivable (A/R)"][1]
    assert sorted(income) == ["Discounts given", "Sales of Product Income", "Services"]
    assert income["Sales of Product Income"][1]  # the default until one is chosen
    assert deposit["Undeposited Funds"][1]
    assert "Checking" in deposit

    resp = post(
        signed_in,
        f"{PAGE}{profile.id}/settings",
        {
            "sync_after": "2026-05-08",
            "ar_account": ar["Accounts Receivable (A/R)"][0],
            "income_account": income["Services"][0],
            "deposit_account": deposit["Checking"][0],
        },
    )
    assert resp.status_code == 302
    db.session.refresh(profile)
    assert profile.sync_after == date(2026, 5, 8)
    assert (profile.income_account_id, profile.income_account_name) == (
        income["Services"][0],
        "Services",
    )
    assert profile.ar_account_name == "Accounts Receivable (A/R)"
    assert profile.deposit_account_name == "Checking"
    html = page(signed_in)
    assert "Settings of Roofing saved." in html
    assert 'value="2026-05-08"' in html
    assert _options(html, "income_account")["Services"][1]
    assert _options(html, "deposit_account")["Checking"][1]

    # an account that is not one of the company's (or of the wrong type) is refused
    post(signed_in, f"{PAGE}{profile.id}/settings", {"income_account": deposit["Checking"][0]})
    assert "Income Account: choose one of the company's accounts." in flashes(page(signed_in))
    db.session.refresh(profile)
    assert profile.income_account_name == "Services"
    # clearing the date keeps the accounts
    post(signed_in, f"{PAGE}{profile.id}/settings", {"sync_after": ""})
    db.session.refresh(profile)
    assert profile.sync_after is None and profile.income_account_name == "Services"


def test_synchronize_shows_the_banner_then_the_details(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    resp = post(signed_in, f"{PAGE}{profile.id}/sync")
    assert resp.status_code == 302
    html = page(signed_in)
    assert "Synchronization of Roofing started." in html
    assert 'id="qbo-sync-banner"' in html and "Syncing with QBO" in html
    assert "Waiting for the worker to start" in html
    assert "/static/qbo_sync/progress.js" in html
    sync_button = re.search(r"<button[^>]*>\s*Synchronize with QuickBooks Online", html)
    assert sync_button is not None and "disabled" in sync_button.group(0)
    all_button = re.search(r"<button[^>]*>\s*Synchronize all connected profiles", html)
    assert all_button is not None and "disabled" in all_button.group(0)
    status = signed_in.get(f"{PAGE}status").get_json()
    assert status["active"] is True
    assert status["runs"][0]["segment"] == "Roofing" and status["runs"][0]["status"] == "queued"
    # a second press does not start a second run
    post(signed_in, f"{PAGE}{profile.id}/sync")
    assert "Roofing is synchronizing already." in flashes(page(signed_in))
    assert db.session.scalar(sa.select(sa.func.count(SyncRun.id))) == 1

    work()
    assert signed_in.get(f"{PAGE}status").get_json() == {"active": False, "runs": []}
    html = page(signed_in)
    assert "Syncing with QBO" not in html
    text = flashes(html)
    run = db.session.scalar(sa.select(SyncRun))
    assert run is not None and run.status is RunStatus.SUCCEEDED and run.ended_at
    last = re.search(r'class="qbo-last-synchronized">([^<]*)<', html)
    # the office's clock, in the guide's format ("5/20/2015 1:06 PM"), not UTC
    ended = run.ended_at.astimezone(ZoneInfo(OFFICE_ZONE))
    assert last is not None and last.group(1) == ended.strftime("%-m/%-d/%Y %-I:%M %p")
    lines = re.findall(r'<div class="qbo-detail-line">([^<]*)</div>', html)
    assert [re.sub(r"^\S+ \S+ - ", "", line).split(" (")[0] for line in lines] == PHASE_LINES
    started = run.phases[0].started_at.astimezone(ZoneInfo(OFFICE_ZONE))
    assert lines[0] == f"{started:%Y-%m-%d %H:%M:%S} - Starting Customer Synchronization"
    assert "(created 1, updated 0, unchanged 0, failed 0, blocked 0)" in lines[1]
    assert "succeeded" in text

    # `flask qbo status` tells the same times, in the office's zone too
    cli = signed_in.application.test_cli_runner()
    out = cli.invoke(args=["qbo", "status"]).output
    assert f"Run {run.id} of Company A: succeeded, ended {ended:%-m/%-d/%Y %-I:%M %p}" in out
    assert f"  {lines[0]}\n" in out
    (status,) = json.loads(cli.invoke(args=["qbo", "status", "--json"]).output)
    shown_end = datetime.fromisoformat(status["last_run"]["ended_at"])
    assert shown_end == run.ended_at and shown_end.utcoffset() == ended.utcoffset()
    assert status["last_run"]["details"] == lines


def test_synchronize_all_and_clear_connection(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    roofing = create_profile(signed_in, "Roofing")
    siding = create_profile(signed_in, "Siding")
    connect_via_page(signed_in, emulator, roofing, "Company A")
    connect_via_page(signed_in, emulator, siding, "Company B")
    post(signed_in, f"{PAGE}sync-all")
    html = page(signed_in)
    assert "Synchronizing 2 connected profile(s) one after another." in html
    # one banner row per company's run, each with the id progress.js finds it by
    rows = re.findall(r'class="qbo-run" data-([a-z-]+)="([^"]*)"', html)
    assert len(rows) == 2 and all(value.isdigit() for _, value in rows), rows
    assert len(set(rows)) == 2
    work()
    assert "Syncing with QBO" not in page(signed_in)
    db.session.refresh(roofing)
    company = roofing.company
    assert company is not None and company.realm_id == emulator.realm_ids["Company A"]
    pushed = db.session.scalar(
        sa.select(sa.func.count(SyncDocument.id)).where(SyncDocument.company_id == company.id)
    )
    assert pushed

    post(signed_in, f"{PAGE}{roofing.id}/clear")
    db.session.refresh(roofing)
    db.session.refresh(company)
    assert not roofing.is_connected and roofing.company_id is None
    # no other profile uses Company A: its grant is forgotten, the company and what was
    # pushed there are kept
    assert company.refresh_token_enc is None and company.access_token_enc is None
    assert company.realm_id == emulator.realm_ids["Company A"]
    after = db.session.scalar(
        sa.select(sa.func.count(SyncDocument.id)).where(SyncDocument.company_id == company.id)
    )
    assert after == pushed
    text = flashes(page(signed_in))
    assert "Roofing is disconnected from Company A" in text
    sync_button = re.search(
        rf'action="{PAGE}{roofing.id}/sync"[^>]*>.*?<button[^>]*>', page(signed_in), re.S
    )
    assert sync_button is not None and "disabled" in sync_button.group(0)
    # reconnecting the same company asks nothing and pushes no duplicates
    connect_via_page(signed_in, emulator, roofing, "Company A")
    post(signed_in, f"{PAGE}{roofing.id}/sync")
    work()
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None and run.status is RunStatus.SUCCEEDED
    assert sum(p.created for p in run.phases) == 0


def test_the_sale_list_shows_each_sales_quickbooks_state(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    listing = signed_in.get("/admin/sale/").get_data(as_text=True)
    assert "QuickBooks" in listing and ">not pushed<" in listing
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    post(signed_in, f"{PAGE}{profile.id}/sync")
    work()
    assert ">synced<" in signed_in.get("/admin/sale/").get_data(as_text=True)
    sale = db.session.get(Sale, shop["sale"])
    assert sale is not None
    sale.sold_on = date(2026, 11, 5)
    db.session.commit()
    assert ">needs update<" in signed_in.get("/admin/sale/").get_data(as_text=True)


def test_data_is_escaped(signed_in: FlaskClient, shop: dict[str, int]) -> None:
    seg = db.session.get(MarketSegment, shop["siding"])
    assert seg is not None
    seg.name = '<script>alert("x")</script>'
    db.session.commit()
    create_profile(signed_in, '<script>alert("x")</script>')
    html = page(signed_in)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
