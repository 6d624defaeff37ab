"""Infrastructure faults during runs: tokens expiring and rotating under two processes, a
connection revoked mid-run, Redis restarted empty, the database's connections cut. After each,
QuickBooks read back through its API holds the CRM's books, each document once, and every record
not synced says why.

Workers are real `flask qbo worker` processes (as in test_races); faults come from the emulator's
control API, its OAuth endpoints, real signals and PostgreSQL itself."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess, free_port
from qbo_sync.jobs import queue, start_sync, start_sync_all
from qbo_sync.models import Phase, RunStatus, SyncProfile, SyncRun
from qbo_sync.state import qbo_state

from crm.models import db
from crm.seed import seed
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.engine.conftest import TODAY, connect, work
from tests.engine.infra import (
    RedisServer,
    assert_books,
    grant_of,
    revoke,
    stored_refresh_token,
    until,
)
from tests.engine.test_races import _emulator, _ended, _env, _run, _sales, _workers

WAIT = 60  # seconds any one condition may take before the test fails
LATENCY_MS = 30  # each QuickBooks reply: a small run still lasts a few seconds


def _small_crm(seed_value: int = 7) -> None:
    seed(customers=24, seed_value=seed_value, today=TODAY)
    queue().empty()


def _profile(profile_id: int) -> SyncProfile:
    db.session.expire_all()
    profile = db.session.get(SyncProfile, profile_id)
    assert profile is not None
    return profile


# -- 1. an access token expiring mid-run -------------------------------------------------------


def test_an_access_token_expiring_mid_run_is_refreshed_once_and_the_rotated_one_kept(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    _small_crm()
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, LATENCY_MS) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        assert company_id is not None
        before = grant_of(emu, app_ctx, company_id)
        run, _ = start_sync(profile)
        with _workers(env, tmp_path) as workers:
            worker = workers.start(burst=True)
            until("the run's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
            assert worker.poll() is None, "the run ended before its token could expire"
            emu.expire_tokens()  # every access token dies now, in the middle of the run
            ended = until("the run to end", lambda: _ended(run.id), WAIT)

        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert (ended.stats or {}).get("auth_refreshes", 0) >= 1  # it did meet the 401
        after = grant_of(emu, app_ctx, company_id)
        assert after.tokens == before.tokens + 1  # one refresh for the whole run
        assert after.stored_is_newest and after.stored_alive
        assert not _profile(profile_id).reconnect_needed
        assert_books(emu, "Company A", company_id, _sales("Roofing"))


# -- 2. two processes refreshing one grant at once ---------------------------------------------


def _plan(env: dict[str, str]) -> subprocess.Popen[str]:
    """`flask qbo plan`: reads the company's books with the same grant as the run."""
    cmd = [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "plan"]
    return subprocess.Popen(
        [*cmd, "--segment", "Roofing"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _refresh_at_emulator(emu_url: str, token: str) -> requests.Response:
    return requests.post(
        f"{emu_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=10,
    )


def _refused(emu: EmulatorProcess, realm: str) -> int:
    """Requests QuickBooks refused with 401 (an expired or revoked access token)."""
    return int(emu.stats(realm)["by_status"].get("401", 0))


def test_two_processes_refreshing_one_grant_at_once_use_one_refresh_and_keep_the_live_token(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    """A worker's run and a `qbo plan` in another process both meet an expired token. The
    test holds the company's refresh lock (as a third process slow to refresh would)
    until both have been refused, so both want to refresh at once. A later refresh uses the
    successor, which kills the original refresh token at Intuit. Nobody sees "reconnect
    needed"."""
    _small_crm(seed_value=8)
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, 20) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        assert company_id is not None
        original = stored_refresh_token(app_ctx, company_id)
        issued = grant_of(emu, app_ctx, company_id).tokens
        emu.expire_tokens()
        run, new = start_sync(_profile(profile_id))
        assert new
        refused = _refused(emu, realm)
        held = qbo_state().redis.lock(f"qbo_sync:lock:token-refresh:{realm}", timeout=WAIT)
        assert held.acquire(blocking=False)
        with _workers(env, tmp_path) as workers:
            try:
                planner = _plan(env)
                worker = workers.start(burst=True)
                until("both refused", lambda: _refused(emu, realm) >= refused + 2, WAIT)
            finally:
                held.release()  # now both refresh, or find the other's fresh token
            out, _ = planner.communicate(timeout=WAIT)
            assert planner.returncode == 0, out
            assert worker.wait(timeout=WAIT) == 0
        ended = _run(run.id)
        assert ended.status is RunStatus.SUCCEEDED, ended.message
        grant = grant_of(emu, app_ctx, company_id)
        assert grant.tokens == issued + 1, "the two processes refreshed more than once"
        assert grant.stored_is_newest and grant.stored_alive

        # The next refresh uses the successor: from then on the original is dead at Intuit.
        emu.expire_tokens()
        again, _ = start_sync(_profile(profile_id))
        work()
        assert _run(again.id).status is RunStatus.SUCCEEDED
        grant = grant_of(emu, app_ctx, company_id)
        assert grant.tokens == issued + 2
        assert grant.stored_is_newest and grant.stored_alive
        assert not _profile(profile_id).reconnect_needed
        assert _refresh_at_emulator(emu.base_url, original).json().get("error") == "invalid_grant"
        assert_books(emu, "Company A", company_id, _sales("Roofing"))


# -- 3. a connection revoked mid-run -----------------------------------------------------------


def test_a_connection_revoked_mid_run_stops_that_company_and_the_next_one_goes_on(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    _small_crm(seed_value=9)
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, LATENCY_MS) as emu:
        realm = emu.realm_ids["Company A"]
        roofing = connect(emu, "Roofing", "Company A")
        siding = connect(emu, "Siding", "Company B")
        ids = {"A": (roofing.id, roofing.company_id), "B": (siding.id, siding.company_id)}
        started = start_sync_all()
        assert [new for _, new in started] == [True, True]
        (run_a, _), (run_b, _) = started
        with _workers(env, tmp_path) as workers:
            workers.start(burst=True)
            until("company A's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
            assert _run(run_a.id).status is RunStatus.RUNNING
            company_a = ids["A"][1]
            assert company_a is not None
            # The bookkeeper disconnects the app from Company A in QuickBooks.
            revoke(emu, (CLIENT_ID, CLIENT_SECRET), stored_refresh_token(app_ctx, company_a))
            a = until("company A's run to end", lambda: _ended(run_a.id), WAIT)
            b = until("company B's run to end", lambda: _ended(run_b.id), WAIT)

        assert a.status is RunStatus.FAILED
        assert a.message == (
            "QuickBooks Online no longer accepts this connection. Use Setup Authentication "
            "to connect the workbook again; nothing was lost."
        )
        assert _profile(ids["A"][0]).reconnect_needed
        assert b.status is RunStatus.SUCCEEDED, b.message
        assert not _profile(ids["B"][0]).reconnect_needed
        company_b = ids["B"][1]
        assert company_b is not None
        assert_books(emu, "Company B", company_b, _sales("Siding"))

        # Connected again, Company A's next run finishes what the revoked one began.
        profile_a = connect(emu, "Roofing", "Company A")
        again, new = start_sync(profile_a)
        assert new
        work()
        assert _run(again.id).status is RunStatus.SUCCEEDED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncRun)) == 3
        assert_books(emu, "Company A", company_a, _sales("Roofing"))


# -- 4. Redis restarted mid-run -------------------------------------------------------------


@pytest.fixture
def own_redis(app_ctx: Flask, tmp_path: Path) -> Iterator[tuple[Flask, RedisServer]]:
    """The test app again, on a redis-server of this test's own (killed and restarted here)."""
    from host_app import create_app

    server = RedisServer(free_port(), tmp_path).start()
    app = create_app({**app_ctx.config, "REDIS_URL": server.url})
    try:
        with app.app_context():
            yield app, server
            db.session.remove()
        with app.app_context():
            db.engine.dispose()
    finally:
        server.kill()


def _said(logs: Path, words: str) -> bool:
    """A worker's log holds these words (how a test sees a worker meet an outage)."""
    return any(words in log.read_text(errors="replace") for log in logs.glob("worker-*.log"))


def test_redis_restarted_empty_mid_run_the_run_resumes_from_the_database(
    own_redis: tuple[Flask, RedisServer], emulator_port: int, tmp_path: Path
) -> None:
    app, server = own_redis
    _small_crm(seed_value=10)
    env = _env(app, emulator_port)
    with _emulator(tmp_path, emulator_port, LATENCY_MS) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        company_id = profile.company_id
        assert company_id is not None
        run, _ = start_sync(profile)
        with _workers(env, tmp_path) as workers:
            worker = workers.start()
            until("the run's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
            server.kill()  # queue, run lock, job and budget: all gone
            until("the worker to lose Redis", lambda: _said(tmp_path, "Redis went away"), WAIT)
            assert _run(run.id).status is RunStatus.RUNNING  # left for whoever comes next
            server.start()  # the same port, empty
            ended = until("the run to end", lambda: _ended(run.id), WAIT)
            assert worker.poll() is None, "the worker did not outlive the outage"
        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert ended.attempts == 2
        assert_books(emu, "Company A", company_id, _sales("Roofing"))


# -- 5. the database's connections cut mid-run ------------------------------------------------

WORKER_APP_NAME = "qbo-infra-worker"  # libpq's PGAPPNAME: how PostgreSQL tells them apart


def _terminate_worker_connections() -> int:
    """What a failover or an admin's pg_terminate_backend does to the worker's connections."""
    terminated = db.session.execute(
        sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"
        ),
        {"name": WORKER_APP_NAME},
    ).scalar_one()
    db.session.commit()
    return int(terminated)


@pytest.mark.postgres
def test_the_database_connections_cut_mid_run_the_run_goes_on_and_the_books_end_right(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "cutting the worker's database connections needs PostgreSQL (TEST_DATABASE_URL)"
        )
    _small_crm(seed_value=12)
    env = {**_env(app_ctx, emulator_port), "PGAPPNAME": WORKER_APP_NAME}
    with _emulator(tmp_path, emulator_port, 60) as emu:  # long enough to be cut twice
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        company_id = profile.company_id
        assert company_id is not None
        run, _ = start_sync(profile)
        with _workers(env, tmp_path) as workers:
            worker = workers.start()
            until("the run's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
            assert _terminate_worker_connections() > 0
            until("the run's sales", lambda: _run(run.id).phase is Phase.SALES, WAIT)
            assert _terminate_worker_connections() > 0  # and once more, later in the run
            ended = until("the run to end", lambda: _ended(run.id), WAIT)
            assert worker.poll() is None
        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert_books(emu, "Company A", company_id, _sales("Roofing"))
