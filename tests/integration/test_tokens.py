"""Tokens against the emulator's real OAuth endpoints: exchange, refresh under a Redis lock,
rotation saved at once, invalid_grant -> reconnect needed, 401 -> one refresh in the client."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from qbo_sync.client import QBOClient
from qbo_sync.config import Settings
from qbo_sync.connection import CompanyTokens, authorization_url, oauth, revoke
from qbo_sync.connection.tokens import TokenCipher
from qbo_sync.errors import ReconnectNeeded
from qbo_sync.models import Company


def stored(conn: Any) -> Company:
    with conn.session_factory() as session:
        profile = session.get(Company, conn.company_id)
        assert profile is not None
        return profile


def refresh_token_rows(emu) -> int:
    db = sqlite3.connect(emu.db_path, timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM refresh_tokens").fetchone()[0])
    finally:
        db.close()


def test_authorization_url_points_at_the_emulator(settings: Settings) -> None:
    url = authorization_url(settings, "state-123")
    parsed = urlparse(url)
    assert url.startswith(settings.emulator_url + "/connect/oauth2?")
    query = parse_qs(parsed.query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["state"] == ["state-123"] and query["client_id"] == [settings.client_id]
    assert query["redirect_uri"] == [settings.redirect_uri] and query["response_type"] == ["code"]


def test_tokens_are_stored_encrypted_and_reused(connected: Any, tokens_for) -> None:
    tokens = tokens_for(connected)
    access = tokens.access_token()
    profile = stored(connected)
    assert access not in (profile.access_token_enc or "")
    assert TokenCipher(connected.settings.token_key).decrypt(profile.access_token_enc) == access
    assert profile.access_token_expires_at > datetime.now(UTC) + timedelta(minutes=55)
    assert profile.refresh_token_expires_at > datetime.now(UTC) + timedelta(days=99)
    assert tokens.access_token() == access and tokens.refreshes == 0


def test_refresh_before_expiry_saves_the_rotated_token(connected: Any, tokens_for):
    cipher = TokenCipher(connected.settings.token_key)
    with connected.session_factory() as session:
        profile = session.get(Company, connected.company_id)
        old_refresh = cipher.decrypt(profile.refresh_token_enc)
        old_access = cipher.decrypt(profile.access_token_enc)
        profile.access_token_expires_at = datetime.now(UTC) + timedelta(minutes=4)
        session.commit()
    tokens = tokens_for(connected)
    access = tokens.access_token()  # under 5 minutes left: refreshed
    assert access != old_access and tokens.refreshes == 1
    profile = stored(connected)
    assert cipher.decrypt(profile.access_token_enc) == access
    assert cipher.decrypt(profile.refresh_token_enc) != old_refresh  # rotated, committed


def test_two_workers_refreshing_at_once_make_one_refresh(
    fresh_emu, connected: Any, redis_conn, key_prefix
) -> None:
    calls = []

    def slow_refresh(settings: Settings, refresh_token: str):
        calls.append(refresh_token)
        time.sleep(0.3)  # keep the lock held while the other worker arrives
        return oauth.refresh(settings, refresh_token)

    workers = [
        CompanyTokens(
            connected.session_factory,
            connected.company_id,
            connected.settings,
            redis_conn,
            key_prefix=key_prefix,
            refresher=slow_refresh,
        )
        for _ in range(2)
    ]
    first = [w.access_token() for w in workers]
    assert first[0] == first[1]
    rows_before = refresh_token_rows(fresh_emu)
    fresh_emu.expire_tokens()  # the API now answers 401 to that token
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run(worker) -> None:
        barrier.wait()
        results.append(worker.refresh_now())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and sum(w.refreshes for w in workers) == 1
    assert refresh_token_rows(fresh_emu) == rows_before + 1  # one refresh reached the emulator
    assert len(results) == 2 and results[0] == results[1] != first[0]
    client = QBOClient(
        connected.settings, connected.realm_id, workers[1], redis_conn, key_prefix=key_prefix
    )
    assert client.company_info()["CompanyName"]
    assert client.stats.auth_refreshes == 0


def test_client_refreshes_once_on_401(fresh_emu, client: QBOClient, connected: Any) -> None:
    name = client.company_info()["CompanyName"]
    fresh_emu.expire_tokens()
    assert client.company_info()["CompanyName"] == name
    assert client.stats.auth_refreshes == 1
    assert client.qb.tokens.refreshes == 1  # type: ignore[attr-defined]
    assert stored(connected).reconnect_needed is False


def test_invalid_grant_marks_the_profile(
    fresh_emu, connected: Any, client: QBOClient, tokens_for
) -> None:
    fresh_emu.expire_tokens(refresh_tokens=True)
    with pytest.raises(ReconnectNeeded):
        client.company_info()  # 401, then the refresh is refused
    assert stored(connected).reconnect_needed is True
    later = tokens_for(connected)
    with pytest.raises(ReconnectNeeded):
        later.access_token()  # no further call to Intuit
    assert later.refreshes == 0


def test_revoked_connection_needs_reconnect(connected: Any, client: QBOClient) -> None:
    cipher = TokenCipher(connected.settings.token_key)
    revoke(connected.settings, cipher.decrypt(stored(connected).refresh_token_enc))
    with pytest.raises(ReconnectNeeded):
        client.company_info()  # the grant is gone: 401, then invalid_grant on refresh
    assert stored(connected).reconnect_needed is True
