"""A LIVE back office for the browser tests: the host app served by werkzeug on loopback, its
own emulator (registered with this app's callback URL), workers run as `flask qbo worker`
processes, and headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import expect
from qbo_emulator.testing import EmulatorProcess, free_port
from qbo_sync.jobs import queue
from qbo_sync.models import Base as PluginBase
from werkzeug.serving import BaseWSGIServer, make_server

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, User, db
from crm.ratelimit import LIMITER_KEY
from tests.conftest import CLIENT_ID, CLIENT_SECRET, OFFICE_ZONE, PASSWORD, repo_root
from tests.engine.infra import scheduling_worker as worker_with_scheduler

CHROMIUM = shutil.which("chromium")
NO_CHROMIUM = "Chromium not found: the browser tests are left out (apt-get install chromium)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# TEST_ARTIFACTS keeps two suites run side by side (CI's two passes) out of each other's files.
SCREENSHOTS = (
    Path(os.environ.get("TEST_ARTIFACTS") or repo_root() / "test-artifacts") / "screenshots"
)
TOKEN_KEY = "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE="


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without a Chromium on the PATH the browser tests are skipped, saying so plainly."""
    if CHROMIUM is not None:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@dataclass
class Live:
    app: Flask
    base_url: str
    emulator: EmulatorProcess
    env: dict[str, str]

    def work(self) -> subprocess.Popen[bytes]:
        """Start `flask --app host_app qbo worker --burst`: it runs the queued runs and exits."""
        with open(SCREENSHOTS.parent / "worker.log", "ab") as log:  # the child keeps its copy
            return subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker", "--burst"],
                cwd=repo_root(),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def _config(database_url: str, redis_url: str, emulator_url: str) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "browser-test-secret",
        "QBO_SYNC_TOKEN_KEY": TOKEN_KEY,
        "QBO_SYNC_ENVIRONMENT": "emulator",
        "QBO_SYNC_ALLOW_EMULATOR": "1",  # for the worker processes (neither debug nor testing)
        "QBO_SYNC_EMULATOR_URL": emulator_url,
        "QBO_SYNC_CLIENT_ID": CLIENT_ID,
        "QBO_SYNC_CLIENT_SECRET": CLIENT_SECRET,
        # empty: the page builds the redirect URI from its own host (url_for the callback)
        "QBO_SYNC_REDIRECT_URI": "",
        "QBO_SYNC_QUEUE": "qbo_sync_browser",
        "QBO_SYNC_THROTTLE_PAUSE": 1.5,
        "QBO_SYNC_TIME_ZONE": OFFICE_ZONE,
    }


def seed_shop() -> dict[str, int]:
    """Roofing and Siding; three Roofing customers with sales and receipts, one receipt bad:
    it is larger than what its sale still owes, so QuickBooks refuses it."""
    roofing, siding = MarketSegment(name="Roofing"), MarketSegment(name="Siding")
    shingles = Product(name="Architectural Shingles", unit_price=Decimal("118.75"))
    labor = Product(name="Roof Labor", unit_price=Decimal("65.00"))
    db.session.add_all([roofing, siding, shingles, labor])
    people = [
        ("William", "Smith", "psmith@example.com"),
        ("Ana", "Lopez", "ana.lopez@example.com"),
        ("Dmitri", "Ivanov", None),
    ]
    customers = [Customer(first_name=f, last_name=n, email=e) for f, n, e in people]
    db.session.add_all(customers)
    db.session.flush()
    receipts = []
    for i, cust in enumerate(customers):
        sale = Sale(
            number=f"S4{i:02d}",
            customer_id=cust.id,
            market_segment_id=roofing.id,
            sold_on=date(2026, 11, 4 + i),
            lines=[
                SaleLine(
                    product_id=shingles.id, quantity=Decimal("8"), unit_price=shingles.unit_price
                ),
                SaleLine(product_id=labor.id, quantity=Decimal("4"), unit_price=labor.unit_price),
            ],
        )
        db.session.add(sale)
        db.session.flush()
        # A receipt of 0.00 is money that cannot be posted: the CRM must be fixed first.
        amount = Decimal("0.00") if i == 1 else Decimal("500.00")
        receipts.append(
            Receipt(
                number=f"R0{i:02d}",
                kind="receipt",
                customer_id=cust.id,
                sale_id=sale.id,
                received_on=date(2026, 11, 10 + i),
                payment_method="Check",
                amount=amount,
            )
        )
    db.session.add_all(receipts)
    user = User(username="office")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return {"bad_receipt": receipts[1].id}


def _empty_tables() -> None:
    db.session.rollback()
    for table in [
        *reversed(PluginBase.metadata.sorted_tables),
        *reversed(db.metadata.sorted_tables),
    ]:
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def live(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Live]:
    from host_app import create_app

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator = EmulatorProcess(
        db_path=tmp_path / "emu.db",
        clients=[(CLIENT_ID, CLIENT_SECRET, f"{base_url}/admin/qbo/callback")],
        latency_ms=25,  # a run lasts a moment, so the progress bar is seen to move
    )
    config = _config(database_url, redis_url, emulator.base_url)
    app = create_app({"TESTING": True, **config})
    env = {k: v for k, v in os.environ.items() if not k.startswith("QBO_SYNC_")}
    env.update({k: str(v) for k, v in config.items() if k.startswith("QBO_SYNC_")})
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=config["SECRET_KEY"],
        # this checkout's plugin first: the venv's editable install may be another checkout
        PYTHONPATH=os.pathsep.join([str(repo_root() / "plugin"), str(repo_root())]),
    )
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    with emulator, app.app_context():
        upgrade()
        _empty_tables()
        queue().empty()
        app.extensions[LIMITER_KEY].reset()  # sign-ins of earlier tests count per minute
        thread.start()
        try:
            yield Live(app, base_url, emulator, env)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            queue().empty()
            _empty_tables()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def browser_page(live: Live) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
            context.close()
        finally:
            browser.close()


@pytest.fixture
def scheduling_worker(live: Live) -> Iterator[subprocess.Popen[bytes]]:
    """`flask --app host_app qbo worker` (not burst): it runs RQ's scheduler beside its queue, so
    scheduled firings start runs on their own; idle when yielded, stopped warm afterwards."""
    # this checkout's plugin first, wherever the venv's own install points
    path = os.pathsep.join([str(repo_root() / "plugin"), live.env["PYTHONPATH"]])
    env = {**live.env, "PYTHONPATH": path, "QBO_SYNC_RESUME_INTERVAL": "1"}
    with worker_with_scheduler(env, SCREENSHOTS.parent / "worker.log") as proc:
        yield proc


# -- steps the browser tests share -----------------------------------------------------------


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, live: Live) -> None:
    page.goto(f"{live.base_url}/admin/qbo/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{live.base_url}/admin/qbo/")


def connect_segment(page: Any, segment: str, company: str) -> Any:
    """Create the segment's profile on the page and connect it to the company through the
    emulator's consent page; the profile's card, connected."""
    page.select_option("#qbo-new-segment", label=segment)
    page.click("#qbo-create-profile button")
    card = page.locator("section.qbo-profile", has_text=segment)
    card.locator("button", has_text="Setup Authentication").click()
    page.get_by_label(company).check()
    page.click("button:has-text('Authorize')")
    expect(card.locator(".qbo-state")).to_have_text(f"Connected to {company}")
    return card


def run_worker_until_banner_goes(page: Any, live: Live, name: str | None = None) -> None:
    """The banner is up while the run waits; a worker runs it; the page drops the banner
    (a screenshot of the banner first, when `name` is given)."""
    banner = page.locator("#qbo-sync-banner")
    expect(banner).to_contain_text("Syncing with QBO")
    if name:
        shot(page, f"{name}-banner")
    worker = live.work()
    try:
        expect(banner).to_have_count(0, timeout=90_000)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
