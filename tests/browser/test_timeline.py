"""A sale's QuickBooks history in a real browser, as the office reads it: after a push, an edit
of the sale in the CRM and a second push (with a receipt that cannot be sent), the Sale list's
"QuickBooks history" row action opens the sale's timeline in local time; from there its run's
page and the company's run history."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from qbo_sync.models import DocKind, EventKind, SyncEvent, SyncRun

from crm.models import Sale, db
from tests.browser.conftest import (
    Live,
    connect_segment,
    run_worker_until_banner_goes,
    seed_shop,
    shot,
    sign_in,
)
from tests.conftest import OFFICE_ZONE, PHASE_LINES

pytestmark = pytest.mark.browser


def _local(value: datetime) -> str:
    """The office's reading of a stored time, worked out independently of the plugin."""
    return value.astimezone(ZoneInfo(OFFICE_ZONE)).strftime("%-m/%-d/%Y %-I:%M %p")


def _synchronize(page: Any, live: Live, card: Any) -> None:
    card.locator("button", has_text="Synchronize with QuickBooks Online").click()
    run_worker_until_banner_goes(page, live)


def test_a_sales_timeline_after_an_edit_and_a_failure(live: Live, browser_page: Any) -> None:
    page = browser_page
    seed_shop()
    sign_in(page, live)
    card = connect_segment(page, "Roofing", "Company B")
    card.locator("select[name=ar_account]").select_option(label="Accounts Receivable (A/R)")
    card.locator("select[name=income_account]").select_option(label="Sales of Product Income")
    card.locator("button", has_text="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Settings of Roofing saved.")
    _synchronize(page, live, card)

    # the office raises S401's shingles from 8 to 10 squares in the CRM, and pushes again
    page.goto(f"{live.base_url}/admin/sale/")
    page.locator("tr", has_text="S401").locator("a[title='Edit Record']").click()
    page.fill("#lines-0-quantity", "10")
    page.locator("input[type=submit][value='Save']").click()
    expect(page.locator(".alert-success")).to_contain_text("successfully saved")
    page.goto(f"{live.base_url}/admin/qbo/")
    _synchronize(page, live, card)
    sale_id = db.session.scalar(sa.select(Sale.id).filter_by(number="S401"))

    # from the Sale list's row action to the sale's timeline
    page.goto(f"{live.base_url}/admin/sale/")
    page.locator("tr", has_text="S401").locator("a[title='QuickBooks history']").click()
    expect(page.locator(".qbo-timeline-title")).to_have_text(
        "QuickBooks history: Sale S401 (Ana Lopez)"
    )
    rows = page.locator("tr.qbo-event")
    update = page.locator("tr.qbo-event-sent", has_text="update")
    expect(
        update.locator(".qbo-change", has_text="Line.0.SalesItemLineDetail.Qty")
    ).to_contain_text("8.00")
    expect(
        update.locator(".qbo-change", has_text="Line.0.SalesItemLineDetail.Qty")
    ).to_contain_text("10.00")
    expect(page.locator("tr.qbo-event-sent", has_text="create").first).to_contain_text("created")
    written = db.session.scalars(
        sa.select(SyncEvent)
        .filter_by(kind=DocKind.INVOICE, event=EventKind.WRITTEN, local_id=str(sale_id))
        .order_by(SyncEvent.id.desc())
    ).first()
    assert written is not None
    expect(rows.filter(has_text="written").first.locator(".qbo-at")).to_have_text(
        _local(written.at)
    )
    expect(rows.filter(has_text="written").first.locator("a.qbo-open")).to_have_attribute(
        "href", re.compile(rf"/app/{live.emulator.realm_ids['Company B']}/invoice/")
    )
    shot(page, "timeline")

    # the sale's receipt of 0.00 failed in the first run, in plain words (once: the second
    # run held it back for the same reason and told nothing new)
    failed = rows.filter(has_text="Receipt R001").filter(has_text="failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("non-positive amount 0.00")

    # to the run that made the update, and to the company's history
    second = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert second is not None
    update.locator(".qbo-run a").click()
    expect(page).to_have_url(re.compile(rf"/admin/qbo/runs/{second.id}$"))
    lines = page.locator(".qbo-detail-line")
    expect(lines).to_have_count(len(PHASE_LINES))
    for text, words in zip(lines.all_inner_texts(), PHASE_LINES, strict=True):
        assert text.endswith(words) or words in text, text
    expect(page.locator(".qbo-started-by")).to_have_text("admin page (office)")
    expect(page.locator("table.qbo-plan[data-operation=update]")).to_contain_text("Sale S401")
    shot(page, "run-page")

    page.locator("a.qbo-history-link").click()
    expect(page.locator("tr.qbo-history-run")).to_have_count(2)
    expect(page.locator("tr.qbo-history-run").first).to_contain_text("admin page (office)")
    expect(page.locator("tr.qbo-history-run").first).to_contain_text(
        "Sale Synchronization: 0 created, 1 updated"
    )
    assert second.started_at is not None
    expect(page.locator("tr.qbo-history-run").first.locator(".qbo-when")).to_have_text(
        _local(second.started_at)
    )
    shot(page, "history")
