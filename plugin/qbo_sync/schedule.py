"""Scheduled runs of a company: off, every N minutes, or daily at a local time, on RQ's own
scheduling (`Queue.enqueue_at`, moved to the queue by the scheduler of a worker started
`with_scheduler`).

The database holds the schedule; Redis holds only the job of the next firing. Every arm bumps
the company's `schedule_generation` and names the job after it, so exactly one job may fire:
one of an older generation (the schedule changed, or another copy fired first) does nothing.
A firing arms the next one, then starts a run unless one is active (never two at once) or the
company waits for reconnection. The workers' maintenance pass (`keep_schedules`) re-arms a
schedule whose job Redis lost and fires at once one that is more than a minute late.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy.orm import Session

from .jobs import queue, start_company_sync
from .models import Company, FiringOutcome, RunTrigger, ScheduleKind, utcnow
from .state import qbo_state

log = logging.getLogger(__name__)
# One minute is the shortest interval: RQ's scheduler looks every second, a firing during a
# run starts nothing, and a run of a company with little new is a few reads. A day is the
# longest: beyond it, "Daily at" says what is meant.
MIN_MINUTES, MAX_MINUTES = 1, 1440
LATE = timedelta(minutes=1)  # a firing this late had no scheduler: the maintenance pass fires it
FIRING_TIMEOUT = 300  # a firing only queues a run
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleInvalid(ValueError):
    """A schedule the office asked for that cannot be kept, in plain words."""


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    minutes: int | None = None
    daily_at: str | None = None  # "HH:MM", the office's local time


def parse_schedule(kind: str | None, minutes: str | int | None, daily_at: str | None) -> Schedule:
    """The schedule of a form or the command line; ScheduleInvalid says what is wrong."""
    try:
        chosen = ScheduleKind(kind or "")
    except ValueError:
        raise ScheduleInvalid("Choose Off, Every N minutes or Daily at.") from None
    if chosen is ScheduleKind.OFF:
        return Schedule(chosen)
    if chosen is ScheduleKind.EVERY:
        text = str(minutes if minutes is not None else "").strip()
        if not text.isdigit() or not MIN_MINUTES <= int(text) <= MAX_MINUTES:
            raise ScheduleInvalid(
                f"Every N minutes needs a whole number of minutes from {MIN_MINUTES} to "
                f"{MAX_MINUTES} (a day); for longer, choose Daily at."
            )
        return Schedule(chosen, minutes=int(text))
    match = _HHMM.match((daily_at or "").strip())
    if match is None:
        raise ScheduleInvalid(
            "Daily at needs a time of day as HH:MM on the 24-hour clock, such as 18:30."
        )
    return Schedule(chosen, daily_at=f"{int(match.group(1)):02d}:{match.group(2)}")


def _exists(local: datetime, zone: tzinfo) -> bool:
    """The wall time occurs in the zone (it is not in a spring-forward gap)."""
    there = local.replace(tzinfo=zone)
    return there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def _daily_on(day: date, at: time, zone: tzinfo) -> datetime:
    """The firing on `day` at local `at`: at the first of two equal wall times (autumn), at the
    first minute that exists after it when the clocks skip it (spring: 2:30 -> 3:00)."""
    local = datetime.combine(day, at)
    while not _exists(local, zone):
        local += timedelta(minutes=1)
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_firing(
    kind: ScheduleKind,
    minutes: int | None,
    daily_at: str | None,
    zone: tzinfo,
    now: datetime,
) -> datetime | None:
    """When the schedule fires next after `now` (UTC, strictly later); None when off."""
    if kind is ScheduleKind.OFF:
        return None
    now = now.astimezone(UTC)
    if kind is ScheduleKind.EVERY:
        if not minutes or minutes < 1:
            raise ScheduleInvalid("Every N minutes needs a number of minutes.")
        return now + timedelta(minutes=minutes)
    match = _HHMM.match(daily_at or "")
    if match is None:
        raise ScheduleInvalid("Daily at needs a time of day as HH:MM.")
    at = time(int(match.group(1)), int(match.group(2)))
    today = now.astimezone(zone).date()
    for offset in range(-1, 3):  # the local date may lag or lead UTC's
        firing = _daily_on(today + timedelta(days=offset), at, zone)
        if firing > now:
            return firing
    raise AssertionError("a daily time always comes within two days")  # pragma: no cover


def _clock(hhmm: str) -> str:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def summary(company: Company) -> str:
    """The company's schedule in words: "Every 15 minutes", "Daily at 6:30 PM", "Off"."""
    if company.schedule_kind is ScheduleKind.EVERY and company.schedule_minutes:
        n = company.schedule_minutes
        return "Every minute" if n == 1 else f"Every {n} minutes"
    if company.schedule_kind is ScheduleKind.DAILY and company.schedule_daily_at:
        return f"Daily at {_clock(company.schedule_daily_at)}"
    return "Off"


def job_id(company_id: int, generation: int) -> str:
    return f"qbo-sync-schedule-company-{company_id}-gen-{generation}"


def _registry() -> ScheduledJobRegistry:
    return ScheduledJobRegistry(queue=queue())


def _cancel(old_job_id: str) -> None:
    """The job of an earlier generation leaves RQ's scheduled registry (if it still waits)."""
    registry = _registry()
    if old_job_id in registry:
        registry.remove(old_job_id, delete_job=True)


def _arm(session: Session, company: Company, at: datetime | None, expect: int | None) -> bool:
    """Take the next generation (only if it still is `expect`, when given), record the next
    firing and schedule its job; False when another arm or firing took the generation first."""
    previous = company.schedule_generation if expect is None else expect
    if company.schedule_kind is ScheduleKind.OFF:
        firing = None
    else:
        due = company.schedule_next_at
        after = max(utcnow(), due) if due is not None and expect is not None else utcnow()
        firing = at or next_firing(
            company.schedule_kind,
            company.schedule_minutes,
            company.schedule_daily_at,
            qbo_state().settings.zone,
            after,
        )
    where = Company.id == company.id
    if expect is not None:
        where = sa.and_(where, Company.schedule_generation == expect)
    session.flush()  # the kind, minutes and time being saved go with it
    result = session.execute(
        sa.update(Company)
        .where(where)
        .values(schedule_generation=Company.schedule_generation + 1, schedule_next_at=firing)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        return False
    session.commit()
    session.refresh(company)
    _cancel(job_id(company.id, previous))
    if firing is not None:
        queue().enqueue_at(
            firing,
            scheduled_sync,
            company.id,
            company.schedule_generation,
            job_id=job_id(company.id, company.schedule_generation),
            job_timeout=FIRING_TIMEOUT,
            result_ttl=86400,
        )
    return True


def arm(session: Session, company: Company, at: datetime | None = None) -> datetime | None:
    """Schedule the company's next firing (at `at`, else when its schedule says); the job of
    the previous generation becomes harmless. The next firing, None when the schedule is off."""
    _arm(session, company, at, expect=None)
    return company.schedule_next_at


def disarm(session: Session, company: Company) -> None:
    """Scheduled runs of the company stop: off, and no job of it left in RQ."""
    company.schedule_kind = ScheduleKind.OFF
    _arm(session, company, None, expect=None)


def configure(session: Session, company: Company, schedule: Schedule) -> datetime | None:
    """Save the company's schedule and arm (or disarm) it; the next firing."""
    company.schedule_kind = schedule.kind
    company.schedule_minutes = schedule.minutes
    company.schedule_daily_at = schedule.daily_at
    if schedule.kind is ScheduleKind.OFF:
        disarm(session, company)
        return None
    return arm(session, company)


def fire(session: Session, company_id: int, generation: int) -> dict[str, Any]:
    """One firing: claim it (its generation must still be the company's), arm the next, and
    start a run unless one is active or the company waits for reconnection."""
    company = session.get(Company, company_id, populate_existing=True)
    if (
        company is None
        or company.schedule_kind is ScheduleKind.OFF
        or company.schedule_generation != generation
        or not _arm(session, company, None, expect=generation)
    ):
        return {"company_id": company_id, "generation": generation, "status": "stale"}
    fired_at = utcnow()
    run_id: int | None = None
    if not company.is_connected or not company.profiles:
        outcome = FiringOutcome.WAITING
    else:
        run, new = start_company_sync(company, trigger=RunTrigger.SCHEDULE)
        outcome = FiringOutcome.STARTED if new else FiringOutcome.SKIPPED
        run_id = run.id
        if not new:
            log.info("scheduled run of company %s skipped: run %s is active", company_id, run.id)
    session.execute(
        sa.update(Company)
        .where(Company.id == company_id)
        .values(schedule_fired_at=fired_at, schedule_outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return {"company_id": company_id, "status": outcome.value, "run_id": run_id}


def scheduled_sync(company_id: int, generation: int) -> dict[str, Any]:
    """The RQ job of a firing (see `fire`)."""
    session = qbo_state().db.session()
    session.expire_all()  # the worker's session may hold the company as it was
    return fire(session, company_id, generation)


def _waiting_or_running(job_ref: str) -> bool:
    """The firing's job is in the queue or runs now (it needs no help)."""
    try:
        status = Job.fetch(job_ref, connection=qbo_state().redis).get_status(refresh=True)
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED)


def _mend(session: Session, company: Company, now: datetime, scheduled: set[str]) -> int:
    ref, due = job_id(company.id, company.schedule_generation), company.schedule_next_at
    if ref in scheduled:
        if due is None or due >= now - LATE:
            return 0
        log.warning("scheduled run of company %s is late; firing it now", company.id)
        fire(session, company.id, company.schedule_generation)
    elif _waiting_or_running(ref):
        return 0
    elif due is None or due <= now:
        log.warning("the scheduled job of company %s was lost; firing now", company.id)
        fire(session, company.id, company.schedule_generation)
    else:
        log.warning("the scheduled job of company %s was lost; armed again", company.id)
        _arm(session, company, due, expect=company.schedule_generation)
    return 1


def keep_schedules() -> int:
    """The workers' maintenance pass: a schedule whose job is gone from RQ (Redis lost it) is
    armed again, or fires now if its time has come; one still in RQ's scheduled registry more
    than a minute late (no scheduler ran: every worker was down) fires now. How many were
    mended. Reads in a short session of its own, as resume_dead_runs does."""
    now = utcnow()
    mended = 0
    with Session(qbo_state().db.engine) as session:
        companies = session.scalars(
            sa.select(Company).where(Company.schedule_kind != ScheduleKind.OFF).order_by(Company.id)
        ).all()
        scheduled = set(_registry().get_job_ids())
        for company in companies:
            try:
                mended += _mend(session, company, now, scheduled)
            except ScheduleInvalid:  # a row no form could have saved: the others go on
                log.exception("the schedule of company %s cannot be kept", company.id)
    return mended
