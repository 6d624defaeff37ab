"""Processes that stop under a run: the web process restarted while a run goes on, two
Synchronize POSTs at the same moment on a real server, a worker frozen past its run lock while
another takes the run. The state lives in the database, so the page tells the truth afterwards;
fencing keeps the frozen worker from writing; QuickBooks read back holds each document once.

The back office runs as a real `flask run` process and the workers as `flask qbo worker`."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import free_port
from qbo_sync.jobs import queue, start_sync
from qbo_sync.models import Company, RunStatus, SyncRun
from rq import Worker
from rq.job import JobStatus

from crm.models import User, db
from crm.seed import seed
from tests.engine.conftest import TODAY, connect, work
from tests.engine.infra import WebServer, assert_books, outcome_on_page, page_token, until
from tests.engine.test_races import (
    ENDED_JOB,
    _emulator,
    _ended,
    _env,
    _faults_pending,
    _job_status,
    _run,
    _sales,
    _workers,
)

WAIT = 60


def _small_crm(seed_value: int) -> None:
    seed(customers=24, seed_value=seed_value, today=TODAY)
    queue().empty()


def _status(browser: requests.Session, web: WebServer) -> dict[str, Any]:
    resp = browser.get(f"{web.url}/admin/qbo/status", timeout=30)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def _runs() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id)))


# -- 6. the web process restarted during a run -------------------------------------------------


def test_the_web_process_restarted_during_a_run_shows_the_runs_true_state(
    app_ctx: Flask, user: User, emulator_port: int, tmp_path: Path
) -> None:
    _small_crm(seed_value=13)
    env = _env(app_ctx, emulator_port, run_lock_seconds="60")  # frozen a while, not dead
    with _emulator(tmp_path, emulator_port, 60) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        assert company_id is not None
        web = WebServer(env, free_port(), tmp_path).start()
        with _workers(env, tmp_path) as workers:
            try:
                browser = web.sign_in()
                token = page_token(browser, f"{web.url}/admin/qbo/")
                clicked = browser.post(
                    f"{web.url}/admin/qbo/{profile_id}/sync",
                    data={"csrf_token": token},
                    allow_redirects=False,
                    timeout=30,
                )
                assert clicked.status_code == 302, clicked.text
                [run] = _runs()
                assert _status(browser, web)["runs"][0]["status"] == "queued"

                worker = workers.start(burst=True)
                until("the run's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
                worker.send_signal(signal.SIGSTOP)  # the run holds still while the web restarts
                try:
                    web.kill()  # the web process dies in the middle of the run ...
                    web.start()  # ... and comes back; the browser keeps its session cookie
                    status = _status(browser, web)
                    assert _run(run.id).status is RunStatus.RUNNING
                finally:
                    worker.send_signal(signal.SIGCONT)
                assert status["active"] is True
                assert [(r["run_id"], r["status"]) for r in status["runs"]] == [(run.id, "running")]
                ended = until("the run to end", lambda: _ended(run.id), WAIT)
                assert _status(browser, web) == {"active": False, "runs": []}
                page = browser.get(f"{web.url}/admin/qbo/", timeout=30)
                page.raise_for_status()
            finally:
                web.kill()

        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert outcome_on_page(page.text) == ["succeeded"]
        assert len(_runs()) == 1
        assert_books(emu, "Company A", company_id, _sales("Roofing"))


# -- 7. two Synchronize POSTs at the same moment -----------------------------------------------


def test_two_synchronize_posts_at_the_same_moment_queue_one_run_and_write_once(
    app_ctx: Flask, user: User, emulator_port: int, tmp_path: Path
) -> None:
    _small_crm(seed_value=14)
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, 20) as emu:
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        assert company_id is not None
        web = WebServer(env, free_port(), tmp_path).start()
        try:
            browsers = [web.sign_in(), web.sign_in()]  # two people, or two tabs
            tokens = [page_token(b, f"{web.url}/admin/qbo/") for b in browsers]
            together = threading.Barrier(2)
            answers: list[int] = []

            def click(browser: requests.Session, token: str) -> None:
                together.wait(timeout=10)
                resp = browser.post(
                    f"{web.url}/admin/qbo/{profile_id}/sync",
                    data={"csrf_token": token},
                    allow_redirects=False,
                    timeout=30,
                )
                answers.append(resp.status_code)

            threads = [
                threading.Thread(target=click, args=bt) for bt in zip(browsers, tokens, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=WAIT)
            assert answers == [302, 302]
            [run] = _runs()
        finally:
            web.kill()
        work()

        ended = _run(run.id)
        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert ended.attempts == 1
        assert len(_runs()) == 1
        assert_books(emu, "Company A", company_id, _sales("Roofing"))


def _holder(job_id: str, procs: list[subprocess.Popen[bytes]]) -> int | None:
    """The pid of the one of these worker processes that runs this job (a worker killed by an
    earlier test may still be registered with a job of the same id)."""
    pids = {p.pid for p in procs}
    workers = Worker.all(queue=queue())
    return next(
        (w.pid for w in workers if w.pid in pids and w.get_current_job_id() == job_id), None
    )


# -- 8. a worker frozen past its run lock --------------------------------------------------------


def test_a_worker_frozen_past_its_lock_is_fenced_off_when_it_wakes_and_nothing_is_written_twice(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    """SIGSTOP, as a VM pause or a long GC would: the frozen worker's lock lapses, another
    worker resumes the run; woken with SIGCONT, the first must not write another thing."""
    _small_crm(seed_value=15)
    # One request at a time: frozen while its request is out, the worker holds no database
    # transaction (on SQLite a process frozen inside one would stop every writer, this test's
    # second worker included, which is SQLite's nature and not what is tested here).
    env = _env(app_ctx, emulator_port, max_in_flight="1")
    with _emulator(tmp_path, emulator_port, 60) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        company_id = profile.company_id
        assert company_id is not None
        with _workers(env, tmp_path) as workers:
            both = [workers.start(), workers.start()]
            until("two idle workers", lambda: all(workers.idle(w) for w in both), WAIT)
            run, _ = start_sync(profile)
            first_job = str(run.job_id)
            until("the run's first write", lambda: emu.stats(realm)["writes"] > 0, WAIT)
            holder = until(
                "a worker of ours to hold the job", lambda: _holder(first_job, both), WAIT
            )
            first, second = sorted(both, key=lambda w: holder != w.pid)
            assert holder == first.pid
            # frozen while it waits for QuickBooks' reply to its next request
            emu.inject(realm, "slow", count=1, seconds=5.0)
            until("its request to be out", lambda: not _faults_pending(emu, realm), WAIT)
            first.send_signal(signal.SIGSTOP)
            try:
                until(
                    "the run taken by another job", lambda: _run(run.id).job_id != first_job, WAIT
                )
                taken_at = emu.stats(realm)["writes"]
                until(
                    "the second job's writes", lambda: emu.stats(realm)["writes"] > taken_at, WAIT
                )
            finally:
                first.send_signal(signal.SIGCONT)
            until("the first job to end", lambda: _job_status(first_job) in ENDED_JOB, WAIT)
            assert _job_status(first_job) is JobStatus.FINISHED  # stopped as superseded runs do
            ended = until("the run to end", lambda: _ended(run.id), WAIT)
            assert first.poll() is None and second.poll() is None

        company = db.session.get(Company, company_id)
        assert company is not None
        assert ended.status is RunStatus.SUCCEEDED, ended.message
        assert ended.attempts == 2
        assert ended.fence == company.fence  # the second job held the company to the end
        assert len(_runs()) == 1
        assert_books(emu, "Company A", company_id, _sales("Roofing"))
