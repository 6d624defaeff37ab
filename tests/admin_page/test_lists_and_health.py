"""The page reads nothing from QuickBooks when it is viewed: each company's chart of accounts,
items and payment methods are kept, read on connect and when the office asks. And it warns,
with the button to act, before the connection stops working; so does `flask qbo status`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import Company

from crm.models import db
from tests.admin_page.conftest import (
    PAGE,
    connect_via_page,
    create_profile,
    flashes,
    page,
    post,
)
from tests.conftest import OFFICE_ZONE
from tests.engine.conftest import books


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    return [unescape(t) for t in re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))]


def test_ten_views_of_the_page_read_nothing_from_quickbooks_and_refresh_reads_again(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile)
    company = db.session.get(Company, profile.company_id)
    assert company is not None
    realm = company.realm_id
    qbo = books(emulator, "Company A")
    chart = qbo.all("Account")
    receivable = sorted(a["Name"] for a in chart if a["AccountType"] == "Accounts Receivable")

    before = int(emulator.stats(realm)["reads"])
    for _ in range(10):
        html = page(signed_in)
        # the dropdowns hold the company's chart as QuickBooks has it
        assert sorted(_options(html, "ar_account")) == receivable
    assert int(emulator.stats(realm)["reads"]) == before  # ten views, not one read
    items, methods = len(qbo.all("Item")), len(qbo.all("PaymentMethod"))
    summary = re.search(r'class="[^"]*qbo-lists-summary[^"]*">([^<]*)<', html)
    assert summary is not None
    assert f"{len(chart)} accounts" in summary.group(1)
    assert f"{items} item" in summary.group(1) and f"{methods} payment method" in summary.group(1)

    # the bookkeeper adds an account in QuickBooks: kept lists show it once refreshed
    qbo.create("Account", {"Name": "Receivables - Financing", "AccountType": "Accounts Receivable"})
    assert "Receivables - Financing" not in _options(page(signed_in), "ar_account")
    before = int(emulator.stats(realm)["reads"])
    resp = post(signed_in, f"{PAGE}{profile.id}/lists")
    assert resp.status_code == 302
    html = page(signed_in)
    assert "were read again" in flashes(html)
    assert "Receivables - Financing" in _options(html, "ar_account")
    assert int(emulator.stats(realm)["reads"]) - before == 3  # accounts, items, methods
    before = int(emulator.stats(realm)["reads"])
    for _ in range(10):
        page(signed_in)
    assert int(emulator.stats(realm)["reads"]) == before


def test_the_refresh_needs_a_connected_profile(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    profile = create_profile(signed_in, "Roofing")
    resp = post(signed_in, f"{PAGE}{profile.id}/lists")
    assert resp.status_code == 302
    assert "Connect Roofing first" in flashes(page(signed_in))


def test_intuits_hard_expiry_is_kept_and_warned_of_with_the_button_to_reconnect(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile)
    company = db.session.get(Company, profile.company_id)
    assert company is not None and company.refresh_token_hard_expires_at is not None
    # the token endpoint was asked for it: 5 years from the consent
    left = company.refresh_token_hard_expires_at - datetime.now(UTC)
    assert timedelta(days=5 * 365 - 1) < left <= timedelta(days=5 * 365)
    html = page(signed_in)
    assert "qbo-health" not in html  # all is well: no warning

    # Intuit's 5-year cap comes within the warning's reach (here, 10 days away)
    company.refresh_token_hard_expires_at = datetime.now(UTC) + timedelta(days=10)
    db.session.commit()
    ends = company.refresh_token_hard_expires_at.astimezone(ZoneInfo(OFFICE_ZONE))
    html = page(signed_in)
    warning = re.search(r'<div class="alert alert-warning qbo-health.*?</div>', html, re.S)
    assert warning is not None
    text = flashes(warning.group(0))
    assert f"ends for good on {ends:%-m/%-d/%Y}" in text
    assert "Setup Authentication" in text  # the button to do it, in the warning
    form = re.search(r'<form method="post" action="([^"]+)" class="ml-3 qbo-reconnect">', html)
    assert form is not None and form.group(1) == f"{PAGE}{profile.id}/authorize"

    result = app.test_cli_runner().invoke(args=["qbo", "status"])
    assert result.exit_code == 0, result.output
    assert f"Warning: The connection to Company A ends for good on {ends:%-m/%-d/%Y}" in " ".join(
        result.output.split()
    )


def test_a_refused_connection_says_so_with_the_button_and_status_says_it_too(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile)
    # QuickBooks stops accepting the grant: the next token refresh is refused
    emulator.expire_tokens(refresh_tokens=True)
    resp = post(signed_in, f"{PAGE}{profile.id}/lists")
    assert resp.status_code == 302
    html = page(signed_in)
    danger = re.search(r'<div class="alert alert-danger qbo-health.*?</div>', html, re.S)
    assert danger is not None
    assert "no longer accepts the connection to Company A" in flashes(danger.group(0))
    assert "Setup Authentication" in flashes(danger.group(0))
    result = app.test_cli_runner().invoke(args=["qbo", "status"])
    assert "Attention: QuickBooks no longer accepts the connection" in " ".join(
        result.output.split()
    )
