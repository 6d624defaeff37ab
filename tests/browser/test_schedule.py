"""A schedule set on the page runs by itself: Roofing connected, "Every 1 minutes" saved in
Chromium, a worker with RQ's scheduler running, and the run it starts shows on the page with
nobody pressing Synchronize (the page is only looked at again, as the office would).
The shop's receipt of 0.00 cannot be posted, so the run finishes with problems."""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from qbo_sync.models import Company, RunStatus, SyncRun

from crm.models import db
from tests.browser.conftest import Live, connect_segment, seed_shop, shot, sign_in

pytestmark = pytest.mark.browser
WITHIN = 100  # seconds: a minute's interval, the scheduler's second, and the run


def test_a_company_scheduled_every_minute_synchronizes_on_its_own(
    live: Live, browser_page: Any, scheduling_worker: subprocess.Popen[bytes]
) -> None:
    page = browser_page
    seed_shop()
    sign_in(page, live)
    card = connect_segment(page, "Roofing", "Company A")
    expect(card.locator(".qbo-next-run")).to_contain_text("No scheduled runs")
    expect(card.locator(".qbo-last-synchronized")).to_have_text("Never")

    # schedule it: every 1 minute
    form = card.locator("form.qbo-schedule")
    form.get_by_label("Every").check()
    form.get_by_label("minutes between scheduled runs").fill("1")
    form.locator("button", has_text="Set schedule").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Schedule of Company A saved: Every minute."
    )
    db.session.expire_all()
    company = db.session.scalar(sa.select(Company))
    assert company is not None and company.schedule_next_at is not None
    next_run = re.search(
        r"Next scheduled run: (\S+ \S+ [AP]M)", card.locator(".qbo-next-run").inner_text()
    )
    assert next_run is not None
    shot(page, "schedule")

    # nobody presses anything: once the run the schedule started has ended, the page shows it
    # (not reloaded meanwhile: while a run is going, the page's banner reloads it by itself)
    deadline = time.monotonic() + WITHIN
    while True:
        db.session.expire_all()
        first = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id))
        if first is not None and first.ended_at is not None:
            break
        assert time.monotonic() < deadline, f"no scheduled run finished within {WITHIN} s"
        page.wait_for_timeout(500)
    page.goto(f"{live.base_url}/admin/qbo/")
    expect(card.locator(".qbo-last-synchronized")).not_to_have_text("Never")
    db.session.expire_all()
    runs = db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id)).all()
    assert runs and all(r.trigger == "schedule" for r in runs)  # a minute later, maybe another
    assert runs[0].status is RunStatus.PARTIAL  # the shop's receipt of 0.00 cannot be posted
    expect(page.locator("table.qbo-profiles .qbo-outcome")).to_contain_text(
        "finished with problems"
    )
    expect(card.locator(".qbo-last-firing")).to_contain_text("started a run.")
    expect(card.locator(".qbo-details")).to_contain_text("Ending Receipt Synchronization")
    expect(card.locator(".qbo-next-run")).to_contain_text("Every minute. Next scheduled run:")
    shot(page, "schedule-ran")
