"""The page renders every value escaped: customer names and sale numbers that are markup show
as text on the QuickBooks Online Sync page (failures, what was changed), its preview, and the
CRM's lists; the raw tag never appears in the HTML."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from qbo_sync.models import DocKind, RecordStatus

from crm.models import User, db
from tests.conftest import PASSWORD, csrf_token
from tests.hostile.records import HTML_CLASH, HTML_NAME, HTML_NUMBER
from tests.hostile.shop import World, record

PAYLOADS = (HTML_NAME, HTML_CLASH, HTML_NUMBER, "<script>alert(1)</script>")


@pytest.fixture(scope="package")
def office(world: World, hostile_ctx: Flask) -> FlaskClient:
    """A signed-in back-office user on the hostile world."""
    if db.session.scalar(sa.select(User).filter_by(username="office")) is None:
        user = User(username="office")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = hostile_ctx.test_client()
    page = client.get("/login").get_data(as_text=True)
    resp = client.post(
        "/login",
        data={"username": "office", "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert resp.status_code == 302
    return client


def _html(client: FlaskClient, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def _no_raw_markup(html: str, where: str) -> None:
    for payload in PAYLOADS:
        assert payload not in html, f"{where} renders {payload!r} unescaped"


def test_failures_and_cleaning_notes_render_markup_as_text(
    world: World, office: FlaskClient
) -> None:
    html = _html(office, "/admin/qbo/")
    _no_raw_markup(html, "the QuickBooks Online Sync page")
    # the failures: the sale numbered like a script tag, and its receipt waiting for it
    sale = world.shop.sales["html_num"]
    assert record(DocKind.INVOICE, sale.id).status is RecordStatus.FAILED  # type: ignore[union-attr]
    assert str(escape(f"sale {HTML_NUMBER} has no lines")) in html
    assert str(escape(f"Waiting for sale {HTML_NUMBER}")) in html
    # what was changed to suit QuickBooks: the customer renamed after the markup-named clash
    clash = world.shop.customers["html_clash"]
    assert str(escape(f"{HTML_CLASH} (C-{clash.id})")) in html
    assert 'class="qbo-cleaned-row"' in html and str(escape("replaced ':'")) in html


def test_preview_and_crm_lists_render_markup_as_text(world: World, office: FlaskClient) -> None:
    preview = _html(office, f"/admin/qbo/{world.profile.id}/preview")
    _no_raw_markup(preview, "the preview")
    assert str(escape(HTML_NUMBER)) in preview
    for path, shown in (
        ("/admin/customer/?page_size=500", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("/admin/sale/?page_size=500", str(escape(HTML_NUMBER))),
    ):
        html = _html(office, path)
        _no_raw_markup(html, path)
        assert shown in html, path


def test_status_json_is_json_and_issues_carry_the_text(world: World, hostile_ctx: Flask) -> None:
    out = hostile_ctx.test_cli_runner().invoke(args=["qbo", "issues", "--json"]).output
    issues = json.loads(out)
    assert HTML_NUMBER in json.dumps(issues, ensure_ascii=False)  # data, not markup


@pytest.mark.browser
def test_in_chromium_no_payload_runs_or_becomes_an_element(
    world: World, office: FlaskClient
) -> None:
    """The rendered page in a real Chromium (network blocked): no alert() fires, no <img src=x>
    or injected <script> exists, and the names read as the text they are."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM

    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    html = _html(office, "/admin/qbo/")
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.set_content(html, wait_until="domcontentloaded")
            injected = page.evaluate(
                """() => ({
                    imgs: document.querySelectorAll('img[src="x"]').length,
                    scripts: [...document.scripts].filter(s => /alert|x\\(\\)/.test(s.text)).length,
                    text: document.body.innerText,
                })"""
            )
        finally:
            browser.close()
    assert dialogs == [], f"a payload ran: {dialogs}"
    assert injected["imgs"] == 0 and injected["scripts"] == 0, injected
    assert f"sale {HTML_NUMBER} has no lines" in injected["text"]
