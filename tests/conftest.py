"""Shared fixtures: the host app on SQLite (or TEST_DATABASE_URL), Redis (REDIS_URL or embedded)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from qbo_emulator.testing import EmulatorProcess, free_port
from qbo_sync.models import Base as PluginBase
from qbo_sync.redis_conn import EmbeddedRedis

from crm.models import User, db
from crm.ratelimit import LIMITER_KEY

PASSWORD = "correct horse battery staple"
# The "Last Synchronization Details" wording, as the guide of the integration we replace has it
# (plus the items phase); the page's tests check it word for word.
PHASE_LINES = [
    "Starting Customer Synchronization",
    "Ending Customer Synchronization",
    "Starting Item Sync",
    "Ending Item Synchronization",
    "Starting Sale Sync",
    "Ending Sale Synchronization",
    "Starting Receipt Sync",
    "Ending Receipt Synchronization",
]
CLIENT_ID = "backoffice-tests"
CLIENT_SECRET = "backoffice-tests-secret"
REDIRECT_URI = "http://127.0.0.1:5000/admin/qbo/callback"
# Processes the tests start (`flask qbo worker`, `flask run`) run neither in debug nor testing
# mode: this declares them a test run, so they may use the emulator (on loopback only), and
# serve plain http on loopback as the demo does.
os.environ.setdefault("QBO_SYNC_ALLOW_EMULATOR", "1")
os.environ.setdefault("BACKOFFICE_HTTPS", "0")


@pytest.fixture(scope="session")
def emulator_port() -> int:
    """The port the app's QuickBooks settings point at; each test's emulator listens there."""
    return free_port()


@pytest.fixture
def emulator(emulator_port: int, tmp_path: Path) -> Iterator[EmulatorProcess]:
    """A fresh QuickBooks Online emulator (new companies), a real process over real HTTP."""
    with EmulatorProcess(
        db_path=tmp_path / "emu.db",
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        control=True,
        port=emulator_port,
    ) as emu:
        yield emu


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL when set, else an embedded server for this test session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'backoffice.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # start from an empty schema every session
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


# The office of the tests is not on UTC, so a time shown unconverted is caught.
OFFICE_ZONE = "America/New_York"


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, emulator_port: int) -> Iterator[Flask]:
    from host_app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "QBO_SYNC_TOKEN_KEY": "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE=",
            "QBO_SYNC_ENVIRONMENT": "emulator",
            "QBO_SYNC_EMULATOR_URL": f"http://127.0.0.1:{emulator_port}",
            "QBO_SYNC_CLIENT_ID": CLIENT_ID,
            "QBO_SYNC_CLIENT_SECRET": CLIENT_SECRET,
            "QBO_SYNC_REDIRECT_URI": REDIRECT_URI,
            "QBO_SYNC_QUEUE": "qbo_sync_tests",
            "QBO_SYNC_THROTTLE_PAUSE": 1.5,  # the emulator's throttle windows, not Intuit's 60 s
            "QBO_SYNC_TIME_ZONE": OFFICE_ZONE,
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter does


def _all_tables() -> list[sa.Table]:
    return [*reversed(PluginBase.metadata.sorted_tables), *reversed(db.metadata.sorted_tables)]


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An app context over an empty database, emptied again afterwards; sign-in attempts of
    earlier tests are forgotten (their rate limits count per minute)."""
    with app.app_context():
        app.extensions[LIMITER_KEY].reset()
        yield app
        db.session.rollback()
        for table in _all_tables():
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


@pytest.fixture
def user(app_ctx: Flask) -> User:
    u = User(username="office")
    u.set_password(PASSWORD)
    db.session.add(u)
    db.session.commit()
    return u


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def client(app_ctx: Flask) -> FlaskClient:
    return app_ctx.test_client()


@pytest.fixture
def signed_in(client: FlaskClient, user: User) -> FlaskClient:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": "office",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
