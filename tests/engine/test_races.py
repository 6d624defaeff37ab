"""Races: a killed worker's run resumed with nobody pressing anything, two jobs of one run at
once after its lock lapsed, two Synchronize clicks at the same moment. Whatever the timing,
QuickBooks ends with the CRM's books and every document written once.

Workers are real `flask qbo worker` processes on the test's database, Redis and emulator; the
tests wait for conditions (with deadlines), never for a fixed time."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue, resume_dead_runs, run_lock_key, start_sync, start_sync_all
from qbo_sync.models import Company, Phase, RunStatus, SyncProfile, SyncRun
from qbo_sync.state import qbo_state
from rq import Worker
from rq.job import Job, JobStatus

from crm.models import MarketSegment, Sale, db
from crm.seed import seed
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from tests.engine.books import check_books, writes_of_next_run
from tests.engine.conftest import TODAY, connect, work, worker_env
from tests.engine.infra import until

LOCK_SECONDS = 2  # QBO_SYNC_RUN_LOCK_SECONDS of the workers: a dead run is noticed soon
RESUME_WITHIN = LOCK_SECONDS + 60  # the promise: the lock time plus a minute
ENDED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)
_LOGS = itertools.count(1)


# -- helpers -------------------------------------------------------------------------------------


def _env(app: Flask, emulator_port: int, **settings: str) -> dict[str, str]:
    """The environment of a worker process on the test's database, Redis and emulator."""
    defaults = {
        "throttle_pause": "1.5",
        "run_lock_seconds": str(LOCK_SECONDS),
        "resume_interval": "1",
        "batch_size": "5",  # many small writes: many places to be caught between
    }
    return worker_env(app, emulator_port, **{**defaults, **settings})


class Workers:
    """The worker processes a test starts; all of them are stopped when it ends."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, burst: bool = False) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{next(_LOGS)}.log", "wb")
        cmd = [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker"]
        proc = subprocess.Popen(
            cmd + (["--burst"] if burst else []), env=self.env, stdout=log, stderr=log
        )
        log.close()
        self.procs.append(proc)
        return proc

    def idle(self, proc: subprocess.Popen[bytes]) -> bool:
        """The worker has started (and run its first maintenance pass) and waits for a job."""
        return any(w.pid == proc.pid and w.get_state() == "idle" for w in Worker.all(queue=queue()))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # a warm stop: an idle worker quits at once
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextmanager
def _workers(env: dict[str, str], logs: Path) -> Iterator[Workers]:
    workers = Workers(env, logs)
    try:
        yield workers
    finally:
        workers.stop()


def _run(run_id: int) -> SyncRun:
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    assert run is not None
    return run


def _ended(run_id: int) -> SyncRun | None:
    run = _run(run_id)
    return run if run.status in ENDED else None


def _lock_held(company_id: int | None) -> bool:
    assert company_id is not None
    return bool(qbo_state().redis.exists(run_lock_key(company_id)))


def _sales(*segments: str) -> list[Sale]:
    ids = db.session.scalars(sa.select(MarketSegment.id).where(MarketSegment.name.in_(segments)))
    return list(db.session.scalars(sa.select(Sale).where(Sale.market_segment_id.in_(list(ids)))))


def _emulator(tmp_path: Path, port: int, latency_ms: float) -> EmulatorProcess:
    return EmulatorProcess(
        db_path=tmp_path / "emu.db",
        port=port,
        latency_ms=latency_ms,
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
    )


def _assert_books_and_quiet(emu: EmulatorProcess, profile_id: int, *segments: str) -> None:
    """QuickBooks holds the CRM's books, and the next run finds nothing to write."""
    check_books(emu, "Company A", _sales(*segments))
    profile = db.session.get(SyncProfile, profile_id)
    assert profile is not None
    assert writes_of_next_run(emu, "Company A", profile) == 0


# -- a killed worker's run goes on by itself -------------------------------------------------


def _start_a_run_in_a_worker(
    emu: EmulatorProcess, workers: Workers, profile_id: int
) -> tuple[int, str, subprocess.Popen[bytes]]:
    """One Synchronize; a worker takes the run and writes: (run id, its job id, the worker)."""
    realm = emu.realm_ids["Company A"]
    profile = db.session.get(SyncProfile, profile_id)
    assert profile is not None
    run, new = start_sync(profile)
    assert new
    job_id = str(run.job_id)
    first = workers.start(burst=True)
    until(
        "the first worker's first write",
        lambda: emu.stats(realm)["writes"] > 0 or first.poll() is not None,
        60,
    )
    return run.id, job_id, first


def test_a_killed_workers_run_is_resumed_by_a_fresh_worker_without_anyone_pressing(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    seed(customers=60, seed_value=5, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, 150) as emu:
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        with _workers(env, tmp_path) as workers:
            run_id, job_id, first = _start_a_run_in_a_worker(emu, workers, profile_id)
            # The first run's next requests are slow, so it is still going when the fresh
            # worker below is up (starting one takes seconds on a loaded machine).
            emu.inject(emu.realm_ids["Company A"], "slow", count=20, seconds=2.0)
            # A fresh worker is up and idle while the run still looks alive (the dying worker
            # holds its lock), so it has to notice the death by its own periodic check.
            fresh = workers.start()
            until("the fresh worker to listen", lambda: workers.idle(fresh), 30)
            assert first.poll() is None, "the run ended before its worker could be killed"
            assert _lock_held(company_id)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            killed_at = time.monotonic()
            assert _run(run_id).status is RunStatus.RUNNING  # killed in the middle of the run
            # The resumed run's first requests are slow, so it is still going when `qbo sync`
            # (a process that takes a moment to start) asks; how much work was left over when
            # the worker died is otherwise a matter of timing.
            emu.inject(emu.realm_ids["Company A"], "slow", count=2, seconds=3.0)

            until(  # nobody clicks anything
                "the fresh worker to resume the dead run",
                lambda: _run(run_id).job_id != job_id,
                RESUME_WITHIN,
            )
            # `qbo sync --wait` now joins the run already going and follows it to its end.
            follow = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "sync"]
                + ["--segment", "Roofing", "--wait"],
                env=env,
                capture_output=True,
                text=True,
                timeout=RESUME_WITHIN,
                check=False,
            )
            run = until("the resumed run to end", lambda: _ended(run_id), RESUME_WITHIN)
            took = time.monotonic() - killed_at

        assert run.status is RunStatus.SUCCEEDED, run.message
        assert run.attempts == 2  # the killed job's, then the fresh worker's
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncRun)) == 1
        assert took < RESUME_WITHIN, f"the dead run took {took:.1f} s to finish after the kill"
        assert follow.returncode == 0, follow.stdout + follow.stderr
        assert f"Already running: run {run_id} " in follow.stdout, follow.stdout
        assert f"Run {run_id} of " in follow.stdout, follow.stdout
        assert ": succeeded" in follow.stdout, follow.stdout
        _assert_books_and_quiet(emu, profile_id, "Roofing")


# -- two jobs of one run at once ---------------------------------------------------------------


def _faults_pending(emu: EmulatorProcess, realm: str) -> list[object]:
    resp = requests.get(f"{emu.base_url}/_emulator/faults", params={"realmId": realm}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["pending"])


def _job_status(job_id: str) -> JobStatus:
    return Job.fetch(job_id, connection=qbo_state().redis).get_status(refresh=True)


ENDED_JOB = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
SLOW = 5.0  # seconds one batch of the first job hangs in QuickBooks: its 1 s lock lapses


@pytest.mark.parametrize("hung", [Phase.CUSTOMERS, Phase.SALES])
def test_two_runs_of_one_company_with_a_lapsed_lock_never_write_twice(
    app_ctx: Flask, emulator_port: int, tmp_path: Path, hung: Phase
) -> None:
    """A batch hangs in QuickBooks longer than the run's lock lives (the run's first batch, of
    customers, with more batches of the same send behind it; or the first after the run reached
    its sales); a click resumes the run in another worker while the first job still waits. The
    newer job takes the company's fence and carries the run on; the older one stops before its
    next write and leaves the run to the newer one. One request at a time, so the hung request
    holds the run's own thread, which beats the lock (with several in flight, that thread beats
    while it waits for them, and a slow request costs no lock)."""
    seed(customers=40, seed_value=7, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port, run_lock_seconds="1", max_in_flight="1")
    with _emulator(tmp_path, emulator_port, 0) as emu:
        realm = emu.realm_ids["Company A"]
        # What one clean run of these books writes: the same CRM into Company B, undisturbed.
        reference, _ = start_sync(connect(emu, "Roofing", "Company B"))
        with _workers(env, tmp_path) as workers:
            assert workers.start(burst=True).wait(timeout=60) == 0
        assert _run(reference.id).status is RunStatus.SUCCEEDED
        clean = int(emu.stats(emu.realm_ids["Company B"])["executed_writes"])

        profile = connect(emu, "Roofing", "Company A")  # the profile moves to Company A
        profile_id, company_id = profile.id, profile.company_id
        with _workers(env, tmp_path) as workers:
            both = [workers.start(), workers.start()]
            until("two idle workers", lambda: all(workers.idle(w) for w in both), 30)
            if hung is Phase.CUSTOMERS:  # the run's very first batch
                emu.inject(realm, "slow", count=1, entity="batch", seconds=SLOW)
            run, new = start_sync(profile)
            assert new
            run_id, older = run.id, str(run.job_id)
            if hung is Phase.SALES:  # the first batch once customers and items are written
                until("the run to reach its sales", lambda: _run(run_id).phase is hung, 60)
                emu.inject(realm, "slow", count=1, entity="batch", seconds=SLOW)
            until("a batch of the run to hang", lambda: not _faults_pending(emu, realm), 30)
            until("the hung job's lock to lapse", lambda: not _lock_held(company_id), 30)
            # A second click now finds the run silent: it is queued again and the idle worker
            # takes it, while the first job still waits for QuickBooks' answer.
            db.session.expire_all()  # a new request, as a click is
            again, new = start_sync(profile)
            assert (again.id, new) == (run_id, False)
            newer = str(again.job_id)
            assert newer != older
            until("the newer job to end", lambda: _job_status(newer) in ENDED_JOB, 60)
            until("the older job to end", lambda: _job_status(older) in ENDED_JOB, 30)
            stats = emu.stats(realm)

        run = _run(run_id)
        company = db.session.get(Company, company_id)
        assert company is not None
        assert run.status is RunStatus.SUCCEEDED, run.message
        assert run.attempts == 2  # the older job's, then the newer one's
        assert run.fence == company.fence  # the newer job held the company last
        runs = db.session.scalars(sa.select(SyncRun).filter_by(company_id=company_id)).all()
        assert [r.id for r in runs] == [run_id]
        # The hung batch went out from both jobs and QuickBooks executed it once; nothing was
        # written twice: no more writes than the clean run needed.
        assert stats["replays"] >= 1
        assert stats["executed_writes"] <= clean, (stats["executed_writes"], clean)
        _assert_books_and_quiet(emu, profile_id, "Roofing")

    # The older job stopped as a superseded run does (RunSuperseded, a finished job) ...
    assert _job_status(newer) == JobStatus.FINISHED
    result = Job.fetch(older, connection=qbo_state().redis).latest_result()
    assert _job_status(older) == JobStatus.FINISHED, result.exc_string if result else None
    # ... and left the run to the newer job: the run ended when the newer job ended it.
    newer_end = Job.fetch(newer, connection=qbo_state().redis).ended_at
    assert run.ended_at is not None and newer_end is not None
    assert run.ended_at <= newer_end, (
        f"the superseded job rewrote the run's end: {run.ended_at:%H:%M:%S.%f}, the newer "
        f"job ended at {newer_end:%H:%M:%S.%f}"
    )


# -- two clicks at once ------------------------------------------------------------------------


@pytest.mark.parametrize("segments", [("Roofing", "Roofing"), ("Roofing", "Siding")])
def test_two_synchronize_clicks_at_once_queue_one_run(
    crm: Flask, emulator: EmulatorProcess, segments: tuple[str, str]
) -> None:
    """The same profile twice, or two profiles of one company: one run of the company."""
    profiles = [connect(emulator, segment, "Company A") for segment in dict.fromkeys(segments)]
    assert len({p.company_id for p in profiles}) == 1
    ids = [profiles[0].id, profiles[-1].id]
    together = threading.Barrier(len(ids))
    answers: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def click(profile_id: int) -> None:  # one request: its own app context and session
        try:
            with crm.app_context():
                profile = db.session.get(SyncProfile, profile_id)
                assert profile is not None
                together.wait(timeout=10)
                run, new = start_sync(profile)
                answers.append((run.id, new))
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(new for _, new in answers) == [False, True], answers
    assert len({run_id for run_id, _ in answers}) == 1, answers
    assert queue().count == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncRun)) == 1

    work()
    run = _run(answers[0][0])
    assert run.status is RunStatus.SUCCEEDED, run.message
    _assert_books_and_quiet(emulator, ids[0], *set(segments))


# -- a worker's periodic check sees the database as it is now ------------------------------


def test_a_maintenance_pass_that_saw_the_run_queued_still_resumes_it_after_its_worker_died(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    """What `ResumingWorker.run_maintenance_tasks` does, twice in one long-lived session (a
    worker's app context lasts its whole life): the first pass sees the run waiting in the
    queue (as every idle worker does for the later companies of a sync-all chain), then the
    worker that took it dies; the next pass must resume it."""
    seed(customers=40, seed_value=3, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, 150) as emu:
        profile = connect(emu, "Roofing", "Company A")
        profile_id, company_id = profile.id, profile.company_id
        realm = emu.realm_ids["Company A"]
        run, _ = start_sync(profile)
        run_id = run.id
        assert resume_dead_runs() == 0  # a pass while the run waits: nothing to resume
        with _workers(env, tmp_path) as workers:
            first = workers.start(burst=True)
            until("the worker's first write", lambda: emu.stats(realm)["writes"] > 0, 60)
            assert first.poll() is None, "the run ended before its worker could be killed"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        until("the dead run's lock to lapse", lambda: not _lock_held(company_id), 30)
        assert resume_dead_runs() == 1, "the next pass did not resume the run of a dead worker"
        work()
        run = _run(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.message
        _assert_books_and_quiet(emu, profile_id, "Roofing")


# -- a sync-all chain whose first run lost its worker --------------------------------------


def test_the_later_companies_of_a_sync_all_chain_go_on_after_the_first_runs_worker_died(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    """`qbo sync --all`: Company B's run waits for Company A's job. A's worker dies; A's run is
    queued again under a new job, so the old job never ends and RQ never releases B's. The next
    pass must queue B again too, or `--all --wait` waits forever (found by the chaos suite)."""
    seed(customers=40, seed_value=3, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port)
    with _emulator(tmp_path, emulator_port, 150) as emu:
        roofing = connect(emu, "Roofing", "Company A")
        siding = connect(emu, "Siding", "Company B")
        ids = {roofing.id: roofing.company_id, siding.id: siding.company_id}
        started = start_sync_all()
        assert [new for _, new in started] == [True, True]
        run_ids = [run.id for run, _ in started]
        with _workers(env, tmp_path) as workers:
            first = workers.start(burst=True)
            realm = emu.realm_ids["Company A"]
            until("the worker's first write", lambda: emu.stats(realm)["writes"] > 0, 60)
            assert first.poll() is None, "the run ended before its worker could be killed"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        until("the dead run's lock to lapse", lambda: not _lock_held(roofing.company_id), 30)
        assert resume_dead_runs() == 2, "the later run of the chain was left waiting"
        work()
        for run_id in run_ids:
            run = _run(run_id)
            assert run.status is RunStatus.SUCCEEDED, run.message
        for profile_id, company_id in ids.items():
            company = "Company A" if company_id == roofing.company_id else "Company B"
            segment = "Roofing" if profile_id == roofing.id else "Siding"
            check_books(emu, company, _sales(segment))
