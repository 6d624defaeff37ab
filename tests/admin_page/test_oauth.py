"""Connecting a profile through the page: the OAuth state is single use, bound to the session
and the profile, and expires; Cancel, forged, replayed or expired answers store nothing; a code
is exchanged once; the grant must open the answer's realm; a reconnection revokes the old grant."""

from __future__ import annotations

import re
import threading
import time

import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.connection import TokenCipher
from qbo_sync.models import Company, SyncProfile

from crm.models import db
from tests.admin_page.apps import another_app, oauth_stats, refresh_works, sign_in
from tests.admin_page.conftest import (
    PAGE,
    connect_via_page,
    consent,
    create_profile,
    flashes,
    page,
    post,
    setup_authentication,
)
from tests.conftest import PASSWORD, csrf_token


def _nothing_stored(profile: SyncProfile) -> None:
    db.session.refresh(profile)
    assert profile.company_id is None
    assert profile.realm_id is None and profile.company_name is None
    assert db.session.scalar(sa.select(sa.func.count(Company.id))) == 0


def test_the_callback_connects_the_chosen_company_and_shows_it(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    html = flashes(
        connect_via_page(signed_in, emulator, profile, "Company B").get_data(as_text=True)
    )
    assert "Roofing is connected to Company B" in html
    db.session.refresh(profile)
    assert profile.realm_id == emulator.realm_ids["Company B"]
    assert profile.company_name == "Company B"
    company = profile.company
    assert company is not None
    assert profile.is_connected and company.connected_at is not None
    assert company.access_token_enc and company.refresh_token_enc
    assert company.access_token_expires_at and company.refresh_token_expires_at
    listing = flashes(page(signed_in))
    assert "Connected to Company B" in listing
    assert emulator.realm_ids["Company B"] in listing


def test_a_replayed_state_is_refused(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, state, "Company A")
    cookie_before = signed_in.get_cookie("session")
    assert cookie_before is not None
    assert signed_in.get(callback).status_code == 302
    db.session.refresh(profile)
    assert profile.company is not None
    connected_at = profile.company.connected_at
    assert connected_at is not None

    again = flashes(signed_in.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "already completed; it cannot be used twice" in again
    # the old session cookie, replayed with the old callback URL, is refused as well
    signed_in.set_cookie("session", cookie_before.value, domain=cookie_before.domain)
    replay = flashes(signed_in.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "already completed; it cannot be used twice" in replay
    db.session.refresh(profile)
    db.session.refresh(profile.company)
    assert profile.company.connected_at == connected_at


def test_a_forged_state_is_refused_and_stores_nothing(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    setup_authentication(signed_in, profile)  # this session holds a real state, not this one
    forged = consent(emulator, "forged-state", "Company A")
    html = flashes(signed_in.get(forged, follow_redirects=True).get_data(as_text=True))
    assert "does not belong to a connection attempt started in this browser session" in html
    assert "Nothing was stored" in html
    _nothing_stored(profile)
    no_state = flashes(
        signed_in.get(forged.replace("state=forged-state", "x=1"), follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "without the connection attempt's state" in no_state
    _nothing_stored(profile)
    # a session cookie with a forged signature: no session at all, so back to the login
    real = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, real, "Company A")
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    tampered = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
    signed_in.set_cookie("session", tampered, domain=cookie.domain)
    _forget_request_globals()
    resp = signed_in.get(callback)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    _nothing_stored(profile)


def _forget_request_globals() -> None:
    """The tests share one app context, whose `g` caches the signed-in user (Flask-Login) and
    the CSRF token (Flask-WTF): forget them before another client's request."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def test_a_state_from_another_session_is_refused(
    app_ctx: object, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, state, "Company A")
    other = signed_in.application.test_client()
    _forget_request_globals()
    login = other.get("/login").get_data(as_text=True)
    other.post(
        "/login",
        data={"username": "office", "password": PASSWORD, "csrf_token": csrf_token(login)},
    )
    _forget_request_globals()
    html = flashes(other.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "does not belong to a connection attempt" in html
    _nothing_stored(profile)
    _forget_request_globals()


def test_an_expired_state_is_refused(
    app: Flask, user: object, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    # QBO_SYNC_OAUTH_STATE_SECONDS=1: an attempt older than a second has expired
    with another_app(app, oauth_state_seconds=1) as short:
        client = sign_in(short)
        profile = create_profile(client, "Roofing")
        state = setup_authentication(client, profile)["state"]
        issued = time.time()  # the state was issued before its page answered: no later than now
        callback = consent(emulator, state)
        while time.time() < issued + 1.05:  # until the attempt is older than its lifetime
            time.sleep(0.05)
        before = oauth_stats(emulator)
        html = flashes(client.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "This connection attempt expired (after 1 second)." in html
    assert "Nothing was stored" in html
    assert oauth_stats(emulator) == before  # no code exchange was tried
    _nothing_stored(profile)


def test_a_double_callback_exchanges_the_code_once_and_stays_calm(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, state, "Company A")
    before = oauth_stats(emulator)
    first = flashes(signed_in.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "Roofing is connected to Company A" in first
    second = signed_in.get(callback, follow_redirects=True).get_data(as_text=True)
    assert "This connection attempt was already completed" in flashes(second)
    assert "Nothing more was done." in flashes(second)
    assert "alert-info" in second and "alert-danger" not in second
    after = oauth_stats(emulator)
    assert after.get("authorization_code", 0) - before.get("authorization_code", 0) == 1
    assert after.get("authorization_code_refused", 0) == before.get("authorization_code_refused", 0)
    db.session.refresh(profile)
    assert profile.is_connected and profile.realm_id == emulator.realm_ids["Company A"]


def test_two_callbacks_at_once_exchange_the_code_once(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    """A double click: the same answer arrives twice at the same moment, same session."""
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, state, "Company A")
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    browsers = [signed_in.application.test_client() for _ in range(2)]
    for browser in browsers:
        browser.set_cookie("session", cookie.value, domain=cookie.domain)
    start = threading.Barrier(len(browsers))
    answers: list[str] = []

    def arrive(browser: FlaskClient) -> None:
        start.wait(timeout=10)
        page_after = browser.get(callback, follow_redirects=True).get_data(as_text=True)
        answers.append(flashes(page_after))

    before = oauth_stats(emulator)
    threads = [threading.Thread(target=arrive, args=(b,)) for b in browsers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2
    assert sum("Roofing is connected to Company A" in a for a in answers) == 1
    assert (
        sum("already completed; it cannot be used twice. Nothing more" in a for a in answers) == 1
    )
    after = oauth_stats(emulator)
    assert after.get("authorization_code", 0) - before.get("authorization_code", 0) == 1
    assert after.get("authorization_code_refused", 0) == before.get("authorization_code_refused", 0)
    db.session.refresh(profile)
    assert profile.is_connected


def test_a_callback_whose_realm_was_changed_is_refused_and_its_grant_revoked(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    realm_a, realm_b = emulator.realm_ids["Company A"], emulator.realm_ids["Company B"]
    callback = consent(emulator, state, "Company A")  # the user chose Company A ...
    assert f"realmId={realm_a}" in callback
    forged = callback.replace(f"realmId={realm_a}", f"realmId={realm_b}")  # ... not B
    before = oauth_stats(emulator)
    html = flashes(signed_in.get(forged, follow_redirects=True).get_data(as_text=True))
    assert f"QuickBooks' answer named company {realm_b}" in html
    assert "not for that company, so it was refused and revoked. Nothing was stored" in html
    _nothing_stored(profile)
    after = oauth_stats(emulator)
    assert after.get("revoke", 0) - before.get("revoke", 0) == 1


def test_reconnecting_the_same_company_revokes_the_grant_it_replaces(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    cipher = TokenCipher.from_settings(app.extensions["qbo_sync"].settings)
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    db.session.refresh(profile)
    assert profile.company is not None and profile.company.refresh_token_enc
    old_refresh = cipher.decrypt(profile.company.refresh_token_enc)
    again = connect_via_page(signed_in, emulator, profile, "Company A")
    assert "Roofing is connected to Company A" in flashes(again.get_data(as_text=True))
    db.session.refresh(profile.company)
    assert profile.company.refresh_token_enc
    new_refresh = cipher.decrypt(profile.company.refresh_token_enc)
    assert new_refresh != old_refresh
    assert not refresh_works(emulator, old_refresh)  # the replaced grant is dead at Intuit
    assert refresh_works(emulator, new_refresh)


def test_cancel_on_the_consent_page_stores_nothing(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    state = setup_authentication(signed_in, profile)["state"]
    callback = consent(emulator, state, action="cancel")
    assert "error=access_denied" in callback
    html = flashes(signed_in.get(callback, follow_redirects=True).get_data(as_text=True))
    assert "The connection was cancelled on QuickBooks' page. Nothing was stored." in html
    _nothing_stored(profile)


def test_another_company_is_connected_only_after_confirming(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    realm_a, realm_b = emulator.realm_ids["Company A"], emulator.realm_ids["Company B"]

    # Company B chosen: the callback asks first, and keeps Company A meanwhile
    state = setup_authentication(signed_in, profile)["state"]
    resp = signed_in.get(consent(emulator, state, "Company B"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{PAGE}confirm-company")
    ask = signed_in.get(f"{PAGE}confirm-company").get_data(as_text=True)
    assert "Connect a different QuickBooks company?" in ask
    assert realm_a in ask and realm_b in ask
    db.session.refresh(profile)
    assert profile.realm_id == realm_a

    # "Cancel" keeps Company A and uses the pending connection up
    pending = re.search(r'name="pending" value="([^"]+)"', ask)
    assert pending is not None
    token = csrf_token(ask)
    kept = signed_in.post(
        f"{PAGE}confirm-company",
        data={"csrf_token": token, "pending": pending.group(1), "action": "cancel"},
        follow_redirects=True,
    )
    assert "stays with Company A" in flashes(kept.get_data(as_text=True))
    db.session.refresh(profile)
    assert profile.realm_id == realm_a

    # confirmed: Company B
    state = setup_authentication(signed_in, profile)["state"]
    signed_in.get(consent(emulator, state, "Company B"))
    ask = signed_in.get(f"{PAGE}confirm-company").get_data(as_text=True)
    pending = re.search(r'name="pending" value="([^"]+)"', ask)
    assert pending is not None
    form = {"csrf_token": csrf_token(ask), "pending": pending.group(1), "action": "connect"}
    done = signed_in.post(f"{PAGE}confirm-company", data=form, follow_redirects=True)
    assert "Roofing is connected to Company B" in flashes(done.get_data(as_text=True))
    db.session.refresh(profile)
    assert profile.realm_id == realm_b and profile.company_name == "Company B"
    # the confirmation cannot be used twice
    again = signed_in.post(f"{PAGE}confirm-company", data=form, follow_redirects=True)
    assert "no longer valid" in flashes(again.get_data(as_text=True))


def test_setup_authentication_sends_the_user_to_the_consent_page(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    resp = post(signed_in, f"{PAGE}{profile.id}/authorize")
    assert resp.headers["Location"].startswith(f"{emulator.base_url}/connect/oauth2?")
    assert "scope=com.intuit.quickbooks.accounting" in resp.headers["Location"]
