"""The Content-Security-Policy in a real browser: the sign-in page, the CRM lists and forms and
the QuickBooks Online Sync page load, and work, with no CSP violation reported."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from crm.models import Customer, Receipt, Sale, db
from tests.browser.conftest import Live, seed_shop, sign_in

pytestmark = pytest.mark.browser

# Collected in the page, before any of its own scripts run.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});
"""


def test_the_admin_pages_raise_no_csp_violation(live: Live, browser_page: Any) -> None:
    seed_shop()
    page = browser_page
    console: list[str] = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(LISTEN)
    sign_in(page, live)
    ids = {
        "customer": db.session.scalar(db.select(Customer.id)),
        "sale": db.session.scalar(db.select(Sale.id)),
        "receipt": db.session.scalar(db.select(Receipt.id)),
    }
    paths = ["/admin/", "/admin/product/", "/admin/marketsegment/", "/admin/product/new/"]
    for view, id_ in ids.items():
        paths += [f"/admin/{view}/", f"/admin/{view}/new/", f"/admin/{view}/edit/?id={id_}"]
    paths.append("/admin/qbo/")
    seen: dict[str, list[str]] = {}
    for path in paths:
        page.goto(f"{live.base_url}{path}")
        page.wait_for_load_state("load")
        seen[path] = page.evaluate("window.__csp")
        if path == "/admin/sale/new/":
            # Flask-Admin's scripts ran: select2 dressed the customer field, "Add" adds a line
            expect(page.locator(".select2-container").first).to_be_visible()
            before = page.locator(".inline-field").count()
            page.click("#lines-button")
            expect(page.locator(".inline-field")).to_have_count(before + 1)
            seen[path + " (add line)"] = page.evaluate("window.__csp")
    page.goto(f"{live.base_url}/login")  # signed in: back to the admin
    assert {p: v for p, v in seen.items() if v} == {}
    assert console == []
