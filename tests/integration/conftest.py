"""Shared fixtures for the client and token tests: a real emulator over HTTP, a real Redis,
a SQLite database with the plugin's tables, and a profile connected through the OAuth flow."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import redis
import sqlalchemy as sa
from qbo_sync.client import QBOClient
from qbo_sync.config import Settings
from qbo_sync.connection import CompanyTokens, apply_token_set, exchange_code, generate_key
from qbo_sync.connection.tokens import TokenCipher
from qbo_sync.models import Base, Company
from qbo_sync.redis_conn import connect, embedded_url
from sqlalchemy.orm import Session, sessionmaker

CLIENT_ID = "cid-test"
CLIENT_SECRET = "secret-test"
REDIRECT_URI = "http://127.0.0.1:5000/admin/qbo/callback"

testing = pytest.importorskip("qbo_emulator.testing")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """REDIS_URL when set (CI's real server), else an embedded server for this session."""
    return os.environ.get("REDIS_URL") or embedded_url(
        tmp_path_factory.mktemp("redis") / "redis.db"
    )


@pytest.fixture
def key_prefix() -> str:
    return f"qbo_sync_test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_conn(redis_url: str, key_prefix: str) -> Iterator[redis.Redis]:
    conn = connect(redis_url)
    yield conn
    for key in conn.scan_iter(match=f"{key_prefix}:*", count=500):
        conn.delete(key)
    conn.close()


def start_emulator(path: Path, **kw: object) -> testing.EmulatorProcess:
    return testing.EmulatorProcess(
        db_path=path / "emu.db",
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        control=True,
        **kw,
    ).start()


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.EmulatorProcess]:
    """One emulator per test module; faults, stats and throttle windows reset per test."""
    process = start_emulator(tmp_path_factory.mktemp("emu"))
    yield process
    process.stop()


@pytest.fixture
def fresh_emu(emu: testing.EmulatorProcess) -> testing.EmulatorProcess:
    for realm in emu.realm_ids.values():
        emu.clear_faults(realm)
        emu.reset_stats(realm)
    emu.reset_throttle()
    return emu


def make_settings(base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "emulator",
        "emulator_url": base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "token_key": TOKEN_KEY,
        "http_timeout": 5.0,
        "max_retries": 4,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


TOKEN_KEY = generate_key()


@pytest.fixture
def settings(fresh_emu: testing.EmulatorProcess) -> Settings:
    return make_settings(fresh_emu.base_url)


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[Callable[[], Session]]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    Base.metadata.create_all(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@dataclass
class Connected:
    company_id: int
    realm_id: str
    settings: Settings
    session_factory: Callable[[], Session]


def connect_profile(
    emu: testing.EmulatorProcess,
    settings: Settings,
    session_factory: Callable[[], Session],
    company: str = "Company A",
    segment: str = "east",
) -> Connected:
    """Run the real OAuth code flow against the emulator and store the tokens, encrypted."""
    redirect = emu.authorize(CLIENT_ID, REDIRECT_URI, state="st-1", company=company)
    query = parse_qs(urlparse(redirect).query)
    assert query["state"] == ["st-1"]
    realm_id = query["realmId"][0]
    tokens = exchange_code(settings, query["code"][0], realm_id)
    with session_factory() as session:
        company = Company(realm_id=realm_id, company_name=company)
        apply_token_set(company, tokens, TokenCipher.from_settings(settings))
        session.add(company)
        session.commit()
        return Connected(company.id, realm_id, settings, session_factory)


@pytest.fixture
def connected(
    fresh_emu: testing.EmulatorProcess,
    settings: Settings,
    session_factory: Callable[[], Session],
) -> Connected:
    return connect_profile(fresh_emu, settings, session_factory)


@pytest.fixture
def client(connected: Connected, client_for: Callable[..., QBOClient]) -> QBOClient:
    return client_for(connected)


@pytest.fixture
def tokens_for(redis_conn: redis.Redis, key_prefix: str) -> Callable[..., CompanyTokens]:
    """`tokens_for(connected, **kw)`: a CompanyTokens, as one worker would build it."""

    def build(conn: Connected, **kw: object) -> CompanyTokens:
        return CompanyTokens(
            conn.session_factory,
            conn.company_id,
            conn.settings,
            redis_conn,
            key_prefix=key_prefix,
            **kw,  # type: ignore[arg-type]
        )

    return build


@pytest.fixture
def client_for(
    redis_conn: redis.Redis, key_prefix: str, tokens_for: Callable[..., CompanyTokens]
) -> Callable[..., QBOClient]:
    """`client_for(connected, **settings_overrides)`: a QBOClient with its own token source."""

    def build(conn: Connected, throttle_pause: float = 60.0, **overrides: object) -> QBOClient:
        settings = replace(conn.settings, **overrides)  # type: ignore[arg-type]
        conn = replace(conn, settings=settings)
        return QBOClient(
            settings,
            conn.realm_id,
            tokens_for(conn),
            redis_conn,
            key_prefix=key_prefix,
            backoff_base=0.05,
            backoff_cap=0.5,
            throttle_pause=throttle_pause,
        )

    return build


@pytest.fixture
def own_emulator(
    tmp_path: Path, session_factory: Callable[[], Session]
) -> Iterator[Callable[..., tuple[testing.EmulatorProcess, Connected]]]:
    """`own_emulator(**emulator_kw)`: a private emulator and a profile connected to it."""
    started: list[testing.EmulatorProcess] = []

    def build(**kw: object) -> tuple[testing.EmulatorProcess, Connected]:
        process = start_emulator(tmp_path / f"own{len(started)}", **kw)
        started.append(process)
        conn = connect_profile(process, make_settings(process.base_url), session_factory)
        process.reset_stats(conn.realm_id)
        return process, conn

    yield build
    for process in started:
        process.stop()
