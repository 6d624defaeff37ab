"""RQ entry points and how runs are started: one run per profile at a time, sync-all chained.

Jobs are thin: they take a run id, call the engine, and return a small summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import LockError, LockNotOwnedError
from redis.lock import Lock
from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Dependency, Job, JobStatus
from sqlalchemy.orm import Session

from .engine import execute_run
from .errors import QBOSyncError
from .extension import QBOSyncState
from .models import RunStatus, SyncProfile, SyncRun, utcnow

log = logging.getLogger(__name__)
JOB_TIMEOUT = 6 * 3600


def _state() -> QBOSyncState:
    return current_app.extensions["qbo_sync"]  # type: ignore[no-any-return]


def run_lock_key(profile_id: int) -> str:
    return f"qbo_sync:run-lock:{profile_id}"


def sync_profile(run_id: int) -> dict[str, Any]:
    """The job: execute one run while holding the profile's run lock."""
    st = _state()
    session = st.db.session
    run = session.get(SyncRun, run_id)
    if run is None:
        return {"run_id": run_id, "status": "missing"}
    ttl = st.settings.run_lock_seconds
    lock = st.redis.lock(run_lock_key(run.profile_id), timeout=ttl)
    if not lock.acquire(blocking=False):
        run.status, run.message = RunStatus.FAILED, "Another run of this workbook was in progress."
        run.ended_at = utcnow()
        session.commit()
        return {"run_id": run_id, "status": str(run.status)}
    job = get_current_job()

    def heartbeat() -> None:
        _keep(lock, ttl)
        if job is not None and run is not None:
            job.meta["progress"] = {
                "phase": run.phase.value if run.phase else None,
                "done": run.progress_done,
                "total": run.progress_total,
            }
            job.save_meta()

    try:
        run = execute_run(
            session,
            st.settings,
            st.source,
            run_id,
            st.redis,
            lambda: Session(st.db.engine),
            heartbeat=heartbeat,
        )
        counts = {
            p.phase.value: {
                "created": p.created,
                "updated": p.updated,
                "unchanged": p.unchanged,
                "failed": p.failed,
                "blocked": p.blocked,
            }
            for p in run.phases
        }
        return {"run_id": run_id, "status": str(run.status), "phases": counts}
    finally:
        try:
            lock.release()
        except LockError:  # it expired: already free
            log.debug("run lock of profile %s had expired", run.profile_id)


class RunSuperseded(QBOSyncError):
    """This run's lock expired and another run of the profile took it."""


def _keep(lock: Lock, ttl: int) -> None:
    """Extend the run's lock; take it back if it lapsed, unless another run holds it now."""
    try:
        lock.extend(ttl, replace_ttl=True)
    except LockNotOwnedError:
        if not lock.acquire(blocking=False):
            raise RunSuperseded("another run of this workbook started meanwhile") from None


def queue() -> Queue:
    st = _state()
    return Queue(st.settings.queue, connection=st.redis)


def active_run(session: Session, profile_id: int) -> SyncRun | None:
    """The profile's queued or running run, if it is really alive (else it is marked failed)."""
    run = session.scalar(
        sa.select(SyncRun)
        .where(
            SyncRun.profile_id == profile_id,
            SyncRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
        .order_by(SyncRun.id.desc())
    )
    if run is None:
        return None
    st = _state()
    if run.status is RunStatus.RUNNING and st.redis.exists(run_lock_key(profile_id)):
        return run
    if run.status is RunStatus.QUEUED and run.job_id:
        try:
            status = Job.fetch(run.job_id, connection=st.redis).get_status(refresh=True)
        except NoSuchJobError:
            status = None
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.STARTED):
            return run
    run.status = RunStatus.FAILED
    run.message = "The worker running this synchronization stopped; start it again to resume."
    run.ended_at = utcnow()
    session.commit()
    return None


def start_sync(
    profile: SyncProfile,
    *,
    sale_ids: Sequence[str] | None = None,
    trigger: str = "manual",
    depends_on: Job | None = None,
) -> tuple[SyncRun, bool]:
    """Queue a run for the profile; (run, False) when one is already queued or running."""
    st = _state()
    session = st.db.session
    with st.redis.lock(f"qbo_sync:start-lock:{profile.id}", timeout=30, blocking_timeout=30):
        running = active_run(session, profile.id)
        if running is not None:
            return running, False
        run = SyncRun(
            profile_id=profile.id,
            status=RunStatus.QUEUED,
            trigger=trigger,
            realm_id=profile.realm_id,
            sale_ids=[str(s) for s in sale_ids] if sale_ids is not None else None,
        )
        session.add(run)
        session.commit()
        job_id = f"qbo-sync-run-{run.id}"
        run.job_id = job_id
        session.commit()
        dependency = Dependency(jobs=[depends_on], allow_failure=True) if depends_on else None
        queue().enqueue(
            sync_profile,
            run.id,
            job_id=job_id,
            job_timeout=JOB_TIMEOUT,
            depends_on=dependency,
            result_ttl=86400,
        )
        return run, True


def start_sync_all(trigger: str = "manual") -> list[tuple[SyncRun, bool]]:
    """One run per connected profile, one after another (a failed one does not stop the next)."""
    session = _state().db.session
    profiles = session.scalars(sa.select(SyncProfile).order_by(SyncProfile.id)).all()
    started: list[tuple[SyncRun, bool]] = []
    previous: Job | None = None
    for profile in profiles:
        if not profile.is_connected:
            continue
        run, new = start_sync(profile, trigger=trigger, depends_on=previous)
        started.append((run, new))
        if new and run.job_id:
            previous = Job.fetch(run.job_id, connection=_state().redis)
    return started
