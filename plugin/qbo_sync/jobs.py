"""RQ entry points and how runs start: one run per company at a time, resumed when its worker
dies, sync-all chained one company after another.

Jobs are thin: they take a run id, call the engine, and return a small summary. The run lock
(per company, in Redis) is only a guard against wasted work: what keeps two runs from both
writing is the fencing token each run takes in the database (see engine.journal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock
from rq import Queue, SimpleWorker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Dependency, Job, JobStatus
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .engine import execute_run
from .engine.journal import RunSuperseded
from .errors import ConnectionProblem, QBOSyncError
from .models import Company, RunStatus, SyncProfile, SyncRun
from .state import qbo_state

log = logging.getLogger(__name__)
JOB_TIMEOUT = 6 * 3600
ALIVE = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.STARTED)


def run_lock_key(company_id: int) -> str:
    return f"qbo_sync:run-lock:company:{company_id}"


def _summary(run: SyncRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "status": str(run.status),
        "phases": {
            p.phase.value: {
                "created": p.created,
                "updated": p.updated,
                "unchanged": p.unchanged,
                "failed": p.failed,
                "blocked": p.blocked,
            }
            for p in run.phases
        },
    }


def sync_company(run_id: int) -> dict[str, Any]:
    """The job: execute (or resume) one run while holding its company's run lock."""
    session = qbo_state().db.session()
    try:
        return _sync_company(session, run_id)
    except SQLAlchemyError:
        # The database failed under the run (its connection dropped, say): the worker's
        # session is left clean for the next job, and the run resumes from what was committed.
        session.rollback()
        raise


def _sync_company(session: Session, run_id: int) -> dict[str, Any]:
    st = qbo_state()
    run = session.get(SyncRun, run_id)
    if run is None:
        return {"run_id": run_id, "status": "missing"}
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return _summary(run)
    ttl = st.settings.run_lock_seconds
    lock = st.redis.lock(run_lock_key(run.company_id), timeout=ttl)
    if not lock.acquire(blocking=False):
        return {"run_id": run_id, "status": "another run of this company holds it"}
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

    engine = st.db.engine  # now: the writer's sending threads have no app context
    try:
        run = execute_run(
            session,
            st.settings,
            st.source,
            run_id,
            st.redis,
            lambda: Session(engine),
            heartbeat=heartbeat,
        )
        return _summary(run)
    finally:
        try:
            lock.release()
        except LockError:  # it expired: already free
            log.debug("run lock of company %s had expired", run.company_id)


# The name earlier versions queued under: jobs already in Redis still find it.
sync_profile = sync_company


def _keep(lock: Lock, ttl: int) -> None:
    """Extend the run's lock; take it back if it lapsed, unless another run holds it now."""
    try:
        lock.extend(ttl, replace_ttl=True)
    except LockNotOwnedError:
        if not lock.acquire(blocking=False):
            raise RunSuperseded("another run of this company holds its lock now") from None


def queue() -> Queue:
    st = qbo_state()
    return Queue(st.settings.queue, connection=st.redis)


def _job_alive(job_id: str | None, session: Session) -> bool:
    """The job exists and will run: queued or started, or deferred behind a job that will."""
    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=qbo_state().redis)
        status = job.get_status(refresh=True)
    except NoSuchJobError:
        return False
    if status is JobStatus.DEFERRED:
        return not _waits_in_vain(job, session)
    return status in ALIVE


def _waits_in_vain(job: Job, session: Session) -> bool:
    """A deferred job (a later company of a sync-all chain) waits for the job of an earlier run.
    It waits in vain when that job is no longer its run's job: its worker died and the run was
    queued again under a new job, so the old one never ends and RQ never releases this one."""
    for parent_id in job.dependency_ids:
        try:
            parent = Job.fetch(parent_id, connection=qbo_state().redis)
        except NoSuchJobError:
            return True
        if not parent.args:
            continue
        parent_run = session.get(SyncRun, parent.args[0], populate_existing=True)
        if parent_run is None or parent_run.job_id != parent.id:
            return True
    return False


def _enqueue(run: SyncRun, depends_on: Job | None = None, session: Session | None = None) -> None:
    run.job_id = f"qbo-sync-run-{run.id}-{(run.attempts or 0) + 1}"
    dependency = Dependency(jobs=[depends_on], allow_failure=True) if depends_on else None
    (session or qbo_state().db.session()).commit()
    queue().enqueue(
        sync_company,
        run.id,
        job_id=run.job_id,
        job_timeout=JOB_TIMEOUT,
        depends_on=dependency,
        result_ttl=86400,
    )


def active_run(session: Session, company_id: int | None) -> SyncRun | None:
    """The company's queued or running run; one whose worker died is queued again."""
    if company_id is None:
        return None
    run = session.scalar(
        sa.select(SyncRun)
        .where(
            SyncRun.company_id == company_id,
            SyncRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
        .order_by(SyncRun.id.desc())
    )
    if run is None:
        return None
    resume_if_dead(run)
    return run


def resume_if_dead(run: SyncRun, session: Session | None = None) -> bool:
    """Queue the run again when nothing runs it: a running one whose lock lapsed (its worker
    sends a heartbeat with every request), a queued one whose job is gone or waits in vain.
    `session` is the one `run` was loaded in (default: the app's)."""
    st = qbo_state()
    session = session or st.db.session()
    if not _looks_dead(run, session):
        return False
    with st.redis.lock(f"qbo_sync:resume-lock:{run.company_id}", timeout=30, blocking_timeout=30):
        session.refresh(run)
        if not _looks_dead(run, session):
            return False
        log.warning("run %s of company %s lost its worker; queued again", run.id, run.company_id)
        _enqueue(run, session=session)
        return True


def _looks_dead(run: SyncRun, session: Session) -> bool:
    if run.status is RunStatus.RUNNING:
        return not qbo_state().redis.exists(run_lock_key(run.company_id)) and not _queued(run)
    return run.status is RunStatus.QUEUED and not _job_alive(run.job_id, session)


def _queued(run: SyncRun) -> bool:
    """A job of the run waits in the queue (resumed already, not started yet)."""
    if not run.job_id:
        return False
    try:
        status = Job.fetch(run.job_id, connection=qbo_state().redis).get_status(refresh=True)
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def resume_dead_runs() -> int:
    """Every queued or running run that nothing runs is queued again; how many were.

    Reads in a short session of its own: a worker's long-lived one would see old rows (and
    keep a transaction open while the worker is idle)."""
    with Session(qbo_state().db.engine) as session:
        runs = session.scalars(
            sa.select(SyncRun)
            .where(SyncRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
            .order_by(SyncRun.id)  # a chain's earlier run is queued again before its later ones
        ).all()
        return sum(resume_if_dead(run, session) for run in runs)


class ResumingWorker(SimpleWorker):
    """An RQ worker that, at start and at each maintenance pass, resumes runs left behind by a
    worker that died (its lock lapsed and no job of it is alive), then runs the further passes
    it was given (`passes`: worker.py gives it the schedule's, which would import this)."""

    def __init__(
        self, *args: Any, passes: Sequence[Callable[[], object]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.passes = tuple(passes)

    @property
    def dequeue_timeout(self) -> int:
        """Wait for a job no longer than a maintenance interval, so an idle worker still
        checks for lost runs that often (RQ's own wait is about seven minutes)."""
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]  # untyped in RQ
        try:
            resumed = resume_dead_runs()
        except (RedisError, SQLAlchemyError, QBOSyncError):  # the worker must live on
            log.exception("resuming lost runs failed; trying again at the next pass")
        else:
            if resumed:
                log.info("resumed %d run(s) of lost workers", resumed)
        for extra in self.passes:
            try:
                extra()
            except (RedisError, SQLAlchemyError, QBOSyncError):
                log.exception("a maintenance pass failed; trying again at the next pass")


def start_sync(
    profile: SyncProfile,
    *,
    sale_ids: Sequence[str] | None = None,
    trigger: str = "manual",
    depends_on: Job | None = None,
    started_by: str | None = None,
) -> tuple[SyncRun, bool]:
    """Queue a run of the profile's company; (run, False) when one is already on its way.
    `started_by`: the signed-in user who asked for it, if a user did."""
    company = profile.company
    if company is None:
        raise ConnectionProblem("This profile is not connected to a QuickBooks company.")
    return start_company_sync(
        company,
        profile,
        sale_ids=sale_ids,
        trigger=trigger,
        depends_on=depends_on,
        started_by=started_by,
    )


def start_company_sync(
    company: Company,
    profile: SyncProfile | None = None,
    *,
    sale_ids: Sequence[str] | None = None,
    trigger: str = "manual",
    depends_on: Job | None = None,
    started_by: str | None = None,
) -> tuple[SyncRun, bool]:
    st = qbo_state()
    session = st.db.session()
    with st.redis.lock(f"qbo_sync:start-lock:{company.id}", timeout=30, blocking_timeout=30):
        running = active_run(session, company.id)
        if running is not None:
            return running, False
        run = SyncRun(
            company_id=company.id,
            profile_id=profile.id if profile is not None else None,
            status=RunStatus.QUEUED,
            trigger=trigger,
            started_by=started_by,
            realm_id=company.realm_id,
            sale_ids=[str(s) for s in sale_ids] if sale_ids is not None else None,
        )
        session.add(run)
        session.commit()
        _enqueue(run, depends_on)
        return run, True


def start_sync_all(
    trigger: str = "manual", *, started_by: str | None = None
) -> list[tuple[SyncRun, bool]]:
    """One run per connected company, one after another (a failed one does not stop the next)."""
    session = qbo_state().db.session
    companies = session.scalars(sa.select(Company).order_by(Company.id)).all()
    started: list[tuple[SyncRun, bool]] = []
    previous: Job | None = None
    for company in companies:
        if not company.is_connected or not company.profiles:
            continue
        run, new = start_company_sync(
            company, trigger=trigger, depends_on=previous, started_by=started_by
        )
        started.append((run, new))
        if new and run.job_id:
            previous = Job.fetch(run.job_id, connection=qbo_state().redis)
    return started
