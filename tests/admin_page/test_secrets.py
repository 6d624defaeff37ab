"""Secrets at rest: no token, code or client secret in any log line (everything at DEBUG) nor in
the database (SQLite file and WAL, or every PostgreSQL table as text) through connect, a sync
with a token refresh, and Clear Connection; and Clear Connection telling the truth when the
revocation at Intuit fails."""

from __future__ import annotations

import base64
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.connection import TokenCipher
from qbo_sync.models import Base as PluginBase
from qbo_sync.models import Company, RunStatus, SyncProfile, SyncRun

from crm.models import db
from tests.admin_page.apps import fail_revoke, oauth_stats, refresh_works
from tests.admin_page.conftest import PAGE, connect_via_page, create_profile, flashes, post
from tests.conftest import CLIENT_ID, CLIENT_SECRET, repo_root
from tests.engine.conftest import work, worker_env

LOGGERS = (
    "",
    "urllib3",
    "requests",
    "requests_oauthlib",
    "oauthlib",
    "intuitlib",
    "rq",
    "qbo_sync",
)


class Everything(logging.Handler):
    """Every record, formatted with its arguments and any traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Everything]:
    """All log output at DEBUG, also of loggers that do not propagate (rq's worker)."""
    handler = Everything()
    loggers = [logging.getLogger(name) for name in (*LOGGERS, "rq.worker")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _issued(emu: EmulatorProcess) -> list[str]:
    """Every token and authorization code the emulator ever issued (its own database)."""
    conn = sqlite3.connect(emu.db_path, timeout=30)
    try:
        rows = conn.execute(
            "SELECT token FROM access_tokens UNION ALL SELECT token FROM refresh_tokens "
            "UNION ALL SELECT code FROM auth_codes"
        ).fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


_READ_FILES = """
import os, sys
for name in sys.argv[1:]:
    if os.path.exists(name):
        with open(name, "rb") as fh:
            sys.stdout.buffer.write(fh.read())
"""


def _database_text(app: Flask) -> bytes:
    """The database as stored: SQLite's file and its WAL; on PostgreSQL every table as text."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        assert path.exists()
        # Read in another process: closing a descriptor of the database file in this process
        # would drop SQLite's POSIX locks on it (sqlite.org/howtocorrupt.html §2.2), and a
        # later connection elsewhere would then delete the WAL under this one.
        return subprocess.run(
            [sys.executable, "-c", _READ_FILES, str(path), str(path) + "-wal"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    db.session.commit()
    tables = [*PluginBase.metadata.sorted_tables, *db.metadata.sorted_tables]
    out = []
    for table in tables:
        query = f'SELECT t::text FROM "{table.name}" t'  # noqa: S608 - our own table names
        rows = db.session.execute(sa.text(query)).scalars()
        out.extend(str(r) for r in rows)
    return "\n".join(out).encode()


def _secrets_absent(secrets: list[str], logs: list[str], stored: bytes) -> None:
    text = "\n".join(logs)
    for secret in secrets:
        assert secret not in text, f"{secret[:8]}... appears in the logs"
        assert secret.encode() not in stored, f"{secret[:8]}... appears in the database"


def _run_in_a_worker_process(app: Flask, emulator: EmulatorProcess) -> str:
    """`flask qbo worker --burst` runs what is queued; its whole output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker", "--burst"],
        env=worker_env(app, emulator.port),
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout + done.stderr


def test_no_token_code_or_secret_in_the_logs_or_the_database(
    app: Flask,
    signed_in: FlaskClient,
    shop: dict[str, int],
    emulator: EmulatorProcess,
    all_logs: Everything,
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    emulator.expire_tokens()  # the run starts with a refresh: a rotated pair is stored too
    post(signed_in, f"{PAGE}{profile.id}/sync")
    work()
    db.session.commit()
    run = db.session.scalar(sa.select(SyncRun))
    assert run is not None and run.status is RunStatus.SUCCEEDED, run and run.message
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    secrets = [*_issued(emulator), CLIENT_SECRET, basic]
    assert len(secrets) >= 7  # a code, two access and two refresh tokens, the secret twice
    stored = _database_text(app)
    company = db.session.scalar(sa.select(Company))
    assert company is not None and company.refresh_token_enc
    assert company.refresh_token_enc.encode() in stored  # what is stored is read: encrypted
    _secrets_absent(secrets, all_logs.lines, stored)  # while connected

    emulator.expire_tokens()  # a second run, in a worker process, refreshes again
    post(signed_in, f"{PAGE}{profile.id}/sync")
    worker_output = _run_in_a_worker_process(app, emulator)
    assert "sync_company" in worker_output  # its log was captured
    db.session.commit()
    runs = db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id)).all()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 2, [r.message for r in runs]

    resp = post(signed_in, f"{PAGE}{profile.id}/clear")
    assert resp.status_code == 302
    assert any(line.startswith("urllib3") for line in all_logs.lines)  # DEBUG was captured
    assert any("access token refreshed" in line for line in all_logs.lines)
    logs = [*all_logs.lines, worker_output]
    _secrets_absent([*_issued(emulator), CLIENT_SECRET, basic], logs, _database_text(app))


def _connected_roofing(
    app: Flask, signed_in: FlaskClient, emulator: EmulatorProcess
) -> tuple[SyncProfile, str]:
    """Roofing connected to Company A through the page, and the refresh token it keeps."""
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    db.session.refresh(profile)
    assert profile.company is not None and profile.company.refresh_token_enc
    cipher = TokenCipher.from_settings(app.extensions["qbo_sync"].settings)
    return profile, cipher.decrypt(profile.company.refresh_token_enc)


def test_clear_connection_says_so_when_the_revocation_at_intuit_failed(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile, refresh_token = _connected_roofing(app, signed_in, emulator)
    fail_revoke(emulator, status=503)  # Intuit is down for the next revocation
    before = oauth_stats(emulator)
    assert post(signed_in, f"{PAGE}{profile.id}/clear").status_code == 302
    html = flashes(signed_in.get(PAGE).get_data(as_text=True))
    assert "Roofing is disconnected here and its QuickBooks tokens are forgotten" in html
    assert "QuickBooks could not be told: Company A may still list this app as connected" in html
    assert "disconnect the app in QuickBooks (Settings, Apps, this app, Disconnect)" in html
    assert "press Setup Authentication and then Clear Connection again" in html
    assert oauth_stats(emulator).get("revoke_failed", 0) == before.get("revoke_failed", 0) + 1
    db.session.commit()
    company = db.session.scalar(sa.select(Company))
    assert company is not None
    assert company.refresh_token_enc is None and company.access_token_enc is None
    assert refresh_works(emulator, refresh_token)  # the page told the truth: still live there


def test_clear_connection_revokes_the_grant_when_intuit_answers(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile, refresh_token = _connected_roofing(app, signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/clear")
    html = flashes(signed_in.get(PAGE).get_data(as_text=True))
    assert "Roofing is disconnected from Company A" in html
    assert "may still list" not in html
    assert not refresh_works(emulator, refresh_token)
