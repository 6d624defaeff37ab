"""Scheduled runs through the page: the Schedule form behind login and CSRF, its refusals, the
next run on the card in the office's time, and firings run by a real `flask qbo worker` with
RQ's scheduler (a subprocess on the test's database, Redis and emulator): a run that lands in
QuickBooks, no second run beside an active one, an old job made harmless, off leaving nothing
scheduled. Waits are on conditions with deadlines, never fixed sleeps."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue, run_lock_key
from qbo_sync.models import (
    Company,
    FiringOutcome,
    RunStatus,
    ScheduleKind,
    SyncRun,
    utcnow,
)
from qbo_sync.schedule import arm, job_id, next_firing, scheduled_sync
from qbo_sync.state import qbo_state
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from crm.models import db
from tests.admin_page.conftest import (
    PAGE,
    connected_profile,
    create_profile,
    flashes,
    page,
    post,
)
from tests.conftest import OFFICE_ZONE, csrf_token
from tests.engine.conftest import books, money, worker_env
from tests.engine.infra import scheduling_worker, until

ENDED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)
OFFICE = ZoneInfo(OFFICE_ZONE)


def _registry() -> ScheduledJobRegistry:
    return ScheduledJobRegistry(queue=queue())


def _clear_schedules() -> None:
    registry = _registry()
    for ref in registry.get_job_ids():
        registry.remove(ref, delete_job=True)


@pytest.fixture(autouse=True)
def _nothing_scheduled(app_ctx: Flask) -> Iterator[None]:
    """No firing of another test waits in RQ (company ids start again in each test)."""
    _clear_schedules()
    yield
    _clear_schedules()


@pytest.fixture
def scheduler(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`flask qbo worker` (not burst: with RQ's scheduler), idle and holding the queue's
    scheduler lock; stopped warm afterwards, and nothing of the test left scheduled."""
    _clear_schedules()
    env = worker_env(app_ctx, emulator_port, resume_interval="1", time_zone=OFFICE_ZONE)
    try:
        with scheduling_worker(env, tmp_path / "worker.log") as proc:
            yield proc
    finally:
        _clear_schedules()


def _company() -> Company:
    db.session.expire_all()
    company = db.session.scalar(sa.select(Company))
    assert company is not None
    return company


def _runs() -> list[SyncRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id)))


def _next_runs(html: str) -> list[str]:
    """What each card's schedule line says."""
    return [
        " ".join(m.split()) for m in re.findall(r'class="[^"]*qbo-next-run">(.*?)</p>', html, re.S)
    ]


def _when(at: datetime) -> str:
    """The page's format in the office's zone, computed here on its own."""
    t = at.astimezone(OFFICE)
    clock = f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"
    return f"{t.month}/{t.day}/{t.year} {clock}"


# -- the form ------------------------------------------------------------------------------------


def test_the_schedule_post_needs_a_signed_in_user_and_the_csrf_token(
    app: Flask, signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    profile = connected_profile(signed_in, emulator)
    path = f"{PAGE}{profile.id}/schedule"
    form = {"kind": "every", "minutes": "15"}
    assert signed_in.post(path, data=form).status_code == 400
    assert signed_in.post(path, data={**form, "csrf_token": "forged"}).status_code == 400
    assert _company().schedule_kind is ScheduleKind.OFF
    stranger = app.test_client()  # no session: an anonymous token of its own
    for cached in ("_login_user", "csrf_token"):  # the shared app context caches them
        g.pop(cached, None)
    token = csrf_token(stranger.get("/login").get_data(as_text=True))
    g.pop("_login_user", None)
    resp = stranger.post(path, data={**form, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")
    company = _company()
    assert company.schedule_kind is ScheduleKind.OFF and company.schedule_next_at is None
    assert _registry().get_job_ids() == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"kind": "every", "minutes": "0"},
            "Every N minutes needs a whole number of minutes from 1 to 1440 (a day)",
        ),
        ({"kind": "every", "minutes": "2000"}, "for longer, choose Daily at"),
        ({"kind": "every", "minutes": ""}, "a whole number of minutes from 1 to 1440"),
        ({"kind": "daily", "daily_at": "25:00"}, "HH:MM on the 24-hour clock, such as 18:30"),
        ({"kind": "daily", "daily_at": ""}, "HH:MM on the 24-hour clock"),
        ({}, "Choose Off, Every N minutes or Daily at."),
    ],
)
def test_a_schedule_that_cannot_be_kept_is_refused_in_plain_words(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    form: dict[str, str],
    message: str,
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", form)
    text = flashes(page(signed_in))
    assert "Schedule of Company A not saved: " in text and message in text
    assert _company().schedule_kind is ScheduleKind.OFF
    assert _registry().get_job_ids() == []


def test_a_profile_without_a_company_cannot_be_scheduled(
    signed_in: FlaskClient, shop: dict[str, int]
) -> None:
    profile = create_profile(signed_in, "Roofing")
    html = page(signed_in)
    assert "Connect the profile to let its synchronizations run on a schedule." in flashes(html)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "5"})
    assert "the schedule belongs to its QuickBooks company" in flashes(page(signed_in))


def test_the_card_shows_the_next_run_in_the_office_time_and_that_the_company_shares_it(
    signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    roofing = connected_profile(signed_in, emulator)
    siding = create_profile(signed_in, "Siding")
    post(signed_in, f"{PAGE}{siding.id}/company", {"company": _company().id})
    before = utcnow()
    post(signed_in, f"{PAGE}{roofing.id}/schedule", {"kind": "daily", "daily_at": "18:30"})
    company = _company()
    assert company.schedule_kind is ScheduleKind.DAILY and company.schedule_daily_at == "18:30"
    expected = next_firing(ScheduleKind.DAILY, None, "18:30", OFFICE, before)
    assert company.schedule_next_at == expected
    assert expected is not None and f"{expected.astimezone(OFFICE):%H:%M}" == "18:30"
    html = page(signed_in)
    text = flashes(html)
    assert (
        f"Schedule of Company A saved: Daily at 6:30 PM. Next scheduled run: {_when(expected)}."
        in text
    )
    # both cards show it: the schedule is the company's
    assert _next_runs(html) == [f"Daily at 6:30 PM. Next scheduled run: {_when(expected)}"] * 2
    assert "The schedule belongs to Company A, which Siding also synchronizes into" in text
    assert "The schedule belongs to Company A, which Roofing also synchronizes into" in text
    assert job_id(company.id, company.schedule_generation) in _registry().get_job_ids()

    post(signed_in, f"{PAGE}{siding.id}/schedule", {"kind": "every", "minutes": "45"})
    company = _company()
    assert company.schedule_kind is ScheduleKind.EVERY and company.schedule_minutes == 45
    assert company.schedule_next_at is not None
    assert timedelta(minutes=44) < company.schedule_next_at - before < timedelta(minutes=46)
    assert _registry().get_job_ids() == [job_id(company.id, company.schedule_generation)]
    shown = f"Every 45 minutes. Next scheduled run: {_when(company.schedule_next_at)}"
    assert _next_runs(page(signed_in)) == [shown] * 2


def test_off_removes_the_firing_from_rqs_scheduled_registry(
    signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "5"})
    armed = job_id(_company().id, _company().schedule_generation)
    assert _registry().get_job_ids() == [armed]
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "off"})
    company = _company()
    assert company.schedule_kind is ScheduleKind.OFF and company.schedule_next_at is None
    assert _registry().get_job_ids() == []
    text = flashes(page(signed_in))
    assert "Scheduled runs of Company A are off." in text
    assert "No scheduled runs: synchronizations start only when someone starts them." in text
    assert "Next scheduled run" not in text


# -- firings run by a worker with RQ's scheduler ---------------------------------------------------


def test_a_scheduled_firing_starts_a_run_that_lands_in_quickbooks(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    scheduler: subprocess.Popen[bytes],
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "60"})
    fired_after = utcnow()
    arm(db.session, _company(), at=fired_after + timedelta(seconds=1))
    run = until(
        "the scheduled run to end",
        lambda: next((r for r in _runs() if r.status in ENDED), None),
    )
    assert run.trigger == "schedule" and run.status is RunStatus.SUCCEEDED, run.message
    assert len(_runs()) == 1
    reader = books(emulator, "Company A")
    invoices = reader.all("Invoice")
    assert [(i["DocNumber"], money(i["TotalAmt"])) for i in invoices] == [
        ("S409", Decimal("1000.00"))
    ]
    assert [money(p["TotalAmt"]) for p in reader.all("Payment")] == [Decimal("400.00")]
    until("the firing's outcome", lambda: _company().schedule_outcome is FiringOutcome.STARTED)
    company = _company()
    assert company.schedule_fired_at is not None and company.schedule_fired_at >= fired_after
    assert company.schedule_next_at is not None
    assert (
        timedelta(minutes=59)
        < company.schedule_next_at - company.schedule_fired_at
        < timedelta(minutes=61)
    )
    assert _registry().get_job_ids() == [job_id(company.id, company.schedule_generation)]
    text = flashes(page(signed_in))
    assert f"Next scheduled run: {_when(company.schedule_next_at)}" in text
    assert f"The last scheduled run, {_when(company.schedule_fired_at)}, started a run." in text


def test_a_firing_while_a_run_of_the_company_is_active_starts_no_second_run(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    scheduler: subprocess.Popen[bytes],
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "30"})
    company = _company()
    # A run in the middle of its work, as a worker holds it: running, its lock held.
    running = SyncRun(company_id=company.id, status=RunStatus.RUNNING, trigger="admin page")
    db.session.add(running)
    db.session.commit()
    redis = qbo_state().redis
    redis.set(run_lock_key(company.id), "another worker", ex=120)
    try:
        arm(db.session, company, at=utcnow() + timedelta(seconds=1))
        until(
            "the firing to be skipped",
            lambda: _company().schedule_outcome is FiringOutcome.SKIPPED,
        )
    finally:
        redis.delete(run_lock_key(company.id))
    assert [(r.id, r.trigger) for r in _runs()] == [(running.id, "admin page")]
    company = _company()
    assert company.schedule_next_at is not None  # the next firing is armed all the same
    assert _registry().get_job_ids() == [job_id(company.id, company.schedule_generation)]
    text = flashes(page(signed_in))
    assert "skipped, a run of the company was still going." in text


def test_a_job_of_a_changed_schedule_does_nothing(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    scheduler: subprocess.Popen[bytes],
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "30"})
    old = _company().schedule_generation
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "daily", "daily_at": "06:00"})
    company = _company()
    assert company.schedule_generation > old
    assert job_id(company.id, old) not in _registry().get_job_ids()  # cancelled at the change
    # A job of the old generation that escaped (moved to the queue just before the change):
    escaped = queue().enqueue_at(
        utcnow() + timedelta(seconds=1),
        scheduled_sync,
        company.id,
        old,
        job_id=job_id(company.id, old),
    )
    until(
        "the old job to finish",
        lambda: (
            Job.fetch(escaped.id, connection=qbo_state().redis).get_status(refresh=True)
            is JobStatus.FINISHED
        ),
    )
    assert Job.fetch(escaped.id, connection=qbo_state().redis).return_value() == {
        "company_id": company.id,
        "generation": old,
        "status": "stale",
    }
    assert _runs() == []
    after = _company()
    assert (after.schedule_generation, after.schedule_next_at) == (
        company.schedule_generation,
        company.schedule_next_at,
    )
    assert after.schedule_fired_at is None
    assert _registry().get_job_ids() == [job_id(company.id, company.schedule_generation)]


def test_a_company_that_needs_reconnecting_waits_and_the_card_says_so(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    scheduler: subprocess.Popen[bytes],
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "20"})
    company = _company()
    company.reconnect_needed = True
    db.session.commit()
    assert "Scheduled runs wait for reconnection" in flashes(page(signed_in))
    arm(db.session, company, at=utcnow() + timedelta(seconds=1))
    until("the firing to wait", lambda: _company().schedule_outcome is FiringOutcome.WAITING)
    assert _runs() == []
    company = _company()
    assert company.schedule_next_at is not None and company.schedule_next_at > utcnow()
    assert "waited for the company to be reconnected." in flashes(page(signed_in))


def test_the_workers_pass_arms_a_schedule_whose_job_redis_lost_and_fires_a_late_one(
    signed_in: FlaskClient,
    emulator: EmulatorProcess,
    shop: dict[str, int],
    scheduler: subprocess.Popen[bytes],
) -> None:
    profile = connected_profile(signed_in, emulator)
    post(signed_in, f"{PAGE}{profile.id}/schedule", {"kind": "every", "minutes": "30"})
    company = _company()
    company_id, generation, due = company.id, company.schedule_generation, company.schedule_next_at
    _clear_schedules()  # Redis forgot the job
    until(
        "the schedule to be armed again",
        lambda: (
            _company().schedule_generation > generation
            and _registry().get_job_ids() == [job_id(company_id, _company().schedule_generation)]
        ),
    )
    assert _company().schedule_next_at == due  # the same firing, not a new one
    assert _runs() == []

    # Every worker was down past the firing: the job waits in the registry, two minutes late.
    late = utcnow() - timedelta(minutes=2)
    db.session.execute(
        sa.update(Company).where(Company.id == company_id).values(schedule_next_at=late)
    )
    db.session.commit()
    run = until("the late firing's run", lambda: next(iter(_runs()), None))
    assert run.trigger == "schedule"
    until("the firing's outcome", lambda: _company().schedule_outcome is FiringOutcome.STARTED)
    until("the run to end", lambda: all(r.status in ENDED for r in _runs()))
    assert len(_runs()) == 1


def test_the_command_line_sets_the_schedule_and_prints_the_next_run_in_local_time(
    app: Flask, signed_in: FlaskClient, emulator: EmulatorProcess, shop: dict[str, int]
) -> None:
    connected_profile(signed_in, emulator)
    cli = app.test_cli_runner()
    before = utcnow()
    out = cli.invoke(args=["qbo", "schedule", "--segment", "Roofing", "--daily", "7:05"])
    assert out.exit_code == 0, out.output
    expected = next_firing(ScheduleKind.DAILY, None, "07:05", OFFICE, before)
    assert expected is not None
    assert out.output == (
        f"Company A: Daily at 7:05 AM (America/New_York ({zone_now()})); next run "
        f"{_when(expected)}.\n"
    )
    company = _company()
    assert _registry().get_job_ids() == [job_id(company.id, company.schedule_generation)]

    bad = cli.invoke(args=["qbo", "schedule", "--segment", "Roofing", "--every", "0"])
    assert bad.exit_code == 1 and "from 1 to 1440" in bad.output
    both = cli.invoke(args=["qbo", "schedule", "--segment", "Roofing", "--every", "5", "--off"])
    assert both.exit_code == 2 and "not --every and --off" in both.output

    off = cli.invoke(args=["qbo", "schedule", "--segment", "Roofing", "--off"])
    assert off.output == "Company A: no scheduled runs.\n"
    assert _registry().get_job_ids() == []


def zone_now() -> str:
    return f"{utcnow().astimezone(OFFICE):%Z}"
