"""The QuickBooks Online Sync page in a real browser, as the office manager uses it: connect a
segment to Company B, choose the accounts, synchronize while the banner shows the progress,
read the details, fix the refused record in the CRM and retry it."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from qbo_sync.jobs import run_lock_key
from qbo_sync.models import Phase, RunStatus, SyncRun

from crm.models import db
from tests.browser.conftest import Live, run_worker_until_banner_goes, seed_shop, shot, sign_in
from tests.conftest import OFFICE_ZONE, PHASE_LINES

pytestmark = pytest.mark.browser


def show_progress_without_reload(page: Any, live: Live) -> None:
    """The banner follows the run's progress by polling, without reloading the page."""
    page.evaluate("window.notReloaded = true")
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None and run.status is RunStatus.QUEUED
    lock = live.app.extensions["qbo_sync"].redis
    # as a worker would show it: running (its lock held), 3 of 10 customers done
    lock.set(run_lock_key(run.profile_id), "browser-test", ex=60)
    run.status, run.phase, run.progress_done, run.progress_total = (
        RunStatus.RUNNING,
        Phase.CUSTOMERS,
        3,
        10,
    )
    db.session.commit()
    try:
        bar = page.locator("#qbo-sync-banner .qbo-run-bar")
        expect(page.locator("#qbo-sync-banner .qbo-run-label")).to_have_text(
            "Customer Synchronization: 3 of 10"
        )
        expect(bar).to_have_attribute("aria-valuenow", "3")
        expect(bar).to_have_attribute("style", re.compile(r"width: 30%"))
        assert page.evaluate("window.notReloaded === true")
        shot(page, "04-sync-progress")
    finally:
        run.status, run.phase, run.progress_done, run.progress_total = (
            RunStatus.QUEUED,
            None,
            0,
            0,
        )
        db.session.commit()
        lock.delete(run_lock_key(run.profile_id))


def test_connect_synchronize_watch_and_fix_a_failure(live: Live, browser_page: Any) -> None:
    page = browser_page
    ids = seed_shop()
    sign_in(page, live)
    expect(page.locator("h4")).to_contain_text("QuickBooks Online Integration")
    shot(page, "01-no-profile")

    # create a profile for Roofing, then Setup Authentication at Intuit (the emulator)
    page.select_option("#qbo-new-segment", label="Roofing")
    page.click("#qbo-create-profile button")
    card = page.locator("section.qbo-profile", has_text="Roofing")
    expect(card.locator(".qbo-state")).to_have_text("Not connected")
    card.locator("button", has_text="Setup Authentication").click()
    expect(page.get_by_text("Which company would you like to connect to?")).to_be_visible()
    assert page.url.startswith(f"{live.emulator.base_url}/connect/oauth2")
    page.get_by_label("Company B").check()
    shot(page, "02-consent-company-b")
    page.click("button:has-text('Authorize')")

    # back on the page: connected to Company B
    expect(page).to_have_url(re.compile(r"/admin/qbo/"))
    expect(page.locator(".alert-success")).to_contain_text("Roofing is connected to Company B")
    expect(card.locator(".qbo-state")).to_have_text("Connected to Company B")
    realm_b = live.emulator.realm_ids["Company B"]
    expect(page.locator("table.qbo-profiles")).to_contain_text(realm_b)
    shot(page, "03-connected")

    # the accounts, from Company B's chart of accounts
    card.locator("select[name=ar_account]").select_option(label="Accounts Receivable (A/R)")
    card.locator("select[name=income_account]").select_option(label="Sales of Product Income")
    expect(card.locator("select[name=deposit_account] option:checked")).to_have_text(
        "Undeposited Funds"
    )
    card.locator("button", has_text="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Settings of Roofing saved.")

    # synchronize: the banner and its progress, the button disabled, then the details
    sync_button = card.locator("button", has_text="Synchronize with QuickBooks Online")
    sync_button.click()
    expect(sync_button).to_be_disabled()
    expect(page.locator("#qbo-sync-banner .qbo-run-label")).to_contain_text(
        "Waiting for the worker"
    )
    show_progress_without_reload(page, live)
    run_worker_until_banner_goes(page, live, "04-sync")
    expect(sync_button).to_be_enabled()
    lines = card.locator(".qbo-detail-line")
    expect(lines).to_have_count(len(PHASE_LINES))
    texts = lines.all_inner_texts()
    for text, expected in zip(texts, PHASE_LINES, strict=True):
        assert re.match(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d - {expected}", text), text
    # in the office's clock (America/New_York here), not UTC, in the guide's formats
    db.session.expire_all()
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None and run.ended_at is not None
    office = ZoneInfo(OFFICE_ZONE)
    started = run.phases[0].started_at.astimezone(office)
    assert texts[0] == f"{started:%Y-%m-%d %H:%M:%S} - {PHASE_LINES[0]}"
    expect(card.locator(".qbo-last-synchronized")).to_have_text(
        run.ended_at.astimezone(office).strftime("%-m/%-d/%Y %-I:%M %p")
    )
    expect(page.locator(".qbo-zone")).to_contain_text("America/New_York")
    shot(page, "05-details-and-failures")

    # the receipt that cannot be sent, with its reason in plain words
    failure = card.locator("tr.qbo-failure")
    expect(failure).to_have_count(1)
    expect(failure.locator(".qbo-reason")).to_contain_text("The receipt cannot be sent as it is")
    expect(failure.locator(".qbo-reason")).to_contain_text("non-positive amount 0.00")
    expect(card.locator(".qbo-causes")).to_contain_text("1 receipt failed")
    # named as the CRM names it, not by a database id
    expect(failure.locator(".qbo-record")).to_contain_text("Receipt R001")

    # its history: the record's timeline, reached from the panel
    failure.locator("a.qbo-timeline").click()
    expect(page.locator("h4")).to_contain_text("QuickBooks history: Receipt R001")
    expect(page.locator("table")).to_contain_text("failed")
    expect(page.locator("table")).to_contain_text("non-positive amount 0.00")
    page.go_back()

    # fix it in the CRM through the receipt's edit form, reached from the panel's link
    failure.locator("a", has_text="Receipt R001").click()
    expect(page).to_have_url(re.compile(rf"/admin/receipt/edit/\?id={ids['bad_receipt']}"))
    page.fill("input[name=amount]", "100.00")
    shot(page, "06-fix-receipt")
    page.locator("input[type=submit][value='Save']").click()
    expect(page.locator(".alert-success")).to_contain_text("successfully saved")

    # Retry selected: the failure is gone
    page.goto(f"{live.base_url}/admin/qbo/")
    card.locator("tr.qbo-failure input[type=checkbox]").check()
    card.locator("button", has_text="Retry selected").click()
    expect(page.locator(".alert-success")).to_contain_text("Retry of Roofing started.")
    run_worker_until_banner_goes(page, live, "07-retry")
    expect(card.locator("tr.qbo-failure")).to_have_count(0)
    expect(card.locator(".qbo-failures")).to_have_count(0)
    shot(page, "08-fixed")

    # the Sale list shows every Roofing sale synced
    page.goto(f"{live.base_url}/admin/sale/")
    expect(page.locator("span.badge", has_text="synced")).to_have_count(3)
    shot(page, "09-sale-list")

    # each opens in QuickBooks: here the emulator's invoice page of that very document
    row = page.locator("tr", has_text="S401")
    with page.context.expect_page() as opened:
        row.locator("a.qbo-open", has_text="Open in QuickBooks").click()
    invoice = opened.value
    invoice.wait_for_load_state()
    assert invoice.url.startswith(f"{live.emulator.base_url}/app/{realm_b}/invoice/")
    expect(invoice.locator("h1")).to_have_text("Invoice S401")
    expect(invoice.get_by_text("Ana Lopez").first).to_be_visible()
    expect(invoice.locator("body")).to_contain_text("1,210.00")  # 8 x 118.75 + 4 x 65.00
    shot(invoice, "10-invoice-in-quickbooks")
    invoice.close()

    # the books check: every Roofing customer's balance agrees with Company B's
    page.goto(f"{live.base_url}/admin/qbo/")
    card.locator("a.qbo-books").click()
    expect(page.locator(".qbo-books-ok")).to_contain_text(
        "The balances of 3 customer(s) in QuickBooks agree with the CRM."
    )
    shot(page, "11-books-check")


def test_cancel_on_the_consent_page_stores_nothing(live: Live, browser_page: Any) -> None:
    page = browser_page
    seed_shop()
    sign_in(page, live)
    page.select_option("#qbo-new-segment", label="Siding")
    page.click("#qbo-create-profile button")
    card = page.locator("section.qbo-profile", has_text="Siding")
    card.locator("button", has_text="Setup Authentication").click()
    page.click("button:has-text('Cancel')")
    expect(page.locator(".alert")).to_contain_text(
        "The connection was cancelled on QuickBooks' page. Nothing was stored."
    )
    expect(card.locator(".qbo-state")).to_have_text("Not connected")
    shot(page, "10-cancelled")
