"""Helpers for the security tests: a second host app on the same stores with other settings
(other token keys, a short OAuth state lifetime), signing in to it, and the emulator's OAuth
ledger, scripted OAuth failures and a refresh-token probe (over its HTTP APIs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess

from crm.models import db
from tests.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, csrf_token

SHARED = ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY")


@contextmanager
def another_app(app: Flask, **qbo_sync: Any) -> Iterator[Flask]:
    """The host app again, on the same database, Redis and emulator, with QBO_SYNC_* changes
    (``token_key="B,A"``); its engine is disposed afterwards. Inside its app context, leave the
    first app's objects alone: their session would open connections on this app's engine."""
    from host_app import create_app

    config = {k: v for k, v in app.config.items() if k in SHARED or k.startswith("QBO_SYNC_")}
    config.update({f"QBO_SYNC_{k.upper()}": v for k, v in qbo_sync.items()})
    other = create_app(config)
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def sign_in(app: Flask) -> FlaskClient:
    """A test client of `app`, signed in as the `user` fixture's user."""
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    resp = client.post(
        "/login",
        data={"username": "office", "password": PASSWORD, "csrf_token": csrf_token(login)},
    )
    assert resp.status_code == 302
    return client


def oauth_stats(emu: EmulatorProcess) -> dict[str, int]:
    """The emulator's count of OAuth answers (authorization_code, revoke, *_refused, ...)."""
    resp = emu.http.get(f"{emu.base_url}/_emulator/oauth/stats", timeout=10)
    resp.raise_for_status()
    return {str(k): int(v) for k, v in resp.json().items()}


def fail_revoke(emu: EmulatorProcess, status: int = 500, count: int = 1) -> None:
    """The next `count` revocations at the emulator answer HTTP `status` (Intuit in trouble)."""
    resp = emu.http.post(
        f"{emu.base_url}/_emulator/oauth/faults",
        json={"endpoint": "revoke", "status": status, "count": count},
        timeout=10,
    )
    resp.raise_for_status()


def refresh_works(emu: EmulatorProcess, refresh_token: str) -> bool:
    """Whether Intuit (the emulator) still honours this refresh token, i.e. its grant lives."""
    resp = requests.post(
        f"{emu.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    if resp.status_code == 400:
        assert resp.json() == {"error": "invalid_grant"}
        return False
    resp.raise_for_status()
    return True
