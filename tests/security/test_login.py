"""Signing in and out: attempts rate-limited per username and per address, one password hash
checked for a known and for an unknown username alike, and a signed-out cookie refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm.auth import password_checked
from crm.models import User, db
from crm.ratelimit import TOO_MANY
from tests.conftest import PASSWORD, csrf_token
from tests.security.conftest import variant

ADMIN_PAGE = "/admin/customer/"


def make_user(app: Flask, name: str) -> str:
    """A new user; returns the method of its password hash ("scrypt:32768:8:1")."""
    with app.app_context():
        user = User(username=name)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.password_hash.split("$", 1)[0]


def attempt(client: FlaskClient, username: str, password: str, address: str = "127.0.0.1") -> Any:
    env = {"REMOTE_ADDR": address}
    token = csrf_token(client.get("/login", environ_base=env).get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=env,
    )


def signed_in_as(client: FlaskClient) -> bool:
    return client.get(ADMIN_PAGE).status_code == 200


def test_the_sixth_attempt_on_a_username_is_refused_even_with_the_right_password(
    site: Flask,
) -> None:
    make_user(site, "rate-user")
    make_user(site, "other-user")
    client = site.test_client()
    for n in range(5):
        resp = attempt(client, "rate-user", f"wrong {n}")
        assert resp.status_code == 200 and "wrong password" in resp.get_data(as_text=True)
    refused = attempt(client, "rate-user", PASSWORD)
    assert refused.status_code == 429
    assert TOO_MANY in refused.get_data(as_text=True)
    assert not signed_in_as(client)
    from_elsewhere = site.test_client()
    assert attempt(from_elsewhere, "rate-user", PASSWORD, address="10.0.0.9").status_code == 429
    other = site.test_client()  # same address, another account: not affected
    assert attempt(other, "other-user", PASSWORD).status_code == 302
    assert signed_in_as(other)


@pytest.fixture
def three_per_address(site: Flask) -> Iterator[Flask]:
    """BACKOFFICE_LOGIN_LIMIT_PER_ADDRESS at 3/minute for one test (the default is 20/minute)."""
    name = "BACKOFFICE_LOGIN_LIMIT_PER_ADDRESS"
    assert site.config[name] == "20/minute"
    site.config[name] = "3/minute"
    yield site
    site.config[name] = "20/minute"


def test_attempts_over_the_address_limit_are_refused_from_that_address_only(
    three_per_address: Flask,
) -> None:
    site = three_per_address
    make_user(site, "addr-user")
    client = site.test_client()
    for n in range(3):  # 3 usernames, so no per-username limit is reached
        assert attempt(client, f"nobody-{n}", "guess", address="10.0.0.1").status_code == 200
    refused = attempt(client, "addr-user", PASSWORD, address="10.0.0.1")
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    assert not signed_in_as(client)
    elsewhere = site.test_client()
    assert attempt(elsewhere, "addr-user", PASSWORD, address="10.0.0.2").status_code == 302
    assert signed_in_as(elsewhere)


def test_known_and_unknown_usernames_cost_one_hash_check_of_the_same_kind(site: Flask) -> None:
    method = make_user(site, "hash-user")
    checks: list[str] = []

    def record(sender: Flask, method: str) -> None:
        checks.append(method)

    client = site.test_client()
    with password_checked.connected_to(record, site):
        unknown = attempt(client, "no-such-user", PASSWORD)
        wrong = attempt(client, "hash-user", "wrong password")
        assert unknown.get_data(as_text=True).count("Unknown username or wrong password.") == 1
        assert wrong.get_data(as_text=True).count("Unknown username or wrong password.") == 1
        assert attempt(client, "hash-user", PASSWORD).status_code == 302
    assert method.startswith("scrypt:")
    assert checks == [method, method, method]


def test_a_copied_session_cookie_is_refused_after_sign_out(site: Flask) -> None:
    make_user(site, "cookie-user")
    client = site.test_client()
    assert attempt(client, "cookie-user", PASSWORD).status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None and signed_in_as(client)
    copy = site.test_client()
    copy.set_cookie("session", cookie.value)
    assert signed_in_as(copy)  # the copy works while the session lives

    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = site.test_client()
    replay.set_cookie("session", cookie.value)
    resp = replay.get(ADMIN_PAGE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")
    assert not signed_in_as(copy)
    again = site.test_client()  # signing in again works, with a new cookie
    assert attempt(again, "cookie-user", PASSWORD).status_code == 302 and signed_in_as(again)


def test_a_password_change_ends_the_sessions_signed_in_before(site: Flask) -> None:
    make_user(site, "change-user")
    client = site.test_client()
    assert attempt(client, "change-user", PASSWORD).status_code == 302 and signed_in_as(client)
    with site.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="change-user"))
        assert user is not None
        user.set_password("a new password, long enough")
        db.session.commit()
    assert not signed_in_as(client)


def test_behind_a_proxy_the_address_limit_counts_the_forwarded_address(site: Flask) -> None:
    """BACKOFFICE_PROXY_HOPS=1: every request comes from the proxy (127.0.0.1); the limit
    counts the address the proxy forwards, so one visitor's attempts stop that visitor only."""
    proxied = variant(site, BACKOFFICE_PROXY_HOPS=1, BACKOFFICE_LOGIN_LIMIT_PER_ADDRESS="2/minute")
    make_user(site, "proxy-user")
    client = proxied.test_client()

    def through_proxy(username: str, visitor: str) -> Any:
        forwarded = {"X-Forwarded-For": visitor}
        page = client.get("/login", headers=forwarded).get_data(as_text=True)
        body = {"username": username, "password": PASSWORD, "csrf_token": csrf_token(page)}
        return client.post("/login", data=body, headers=forwarded)

    for n in range(2):
        assert through_proxy(f"nobody-{n}", "203.0.113.7").status_code == 200
    assert through_proxy("proxy-user", "203.0.113.7").status_code == 429
    assert through_proxy("proxy-user", "198.51.100.4").status_code == 302
    with proxied.app_context():
        db.engine.dispose()
