"""Runs survive what QuickBooks and machines do to them: lost replies, throttling, 5xx storms,
expiring tokens and a worker killed mid-run. The result is always the same books."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import DocKind, RecordStatus, RunStatus, SyncDocument, SyncProfile, SyncRun

from crm.models import Customer, MarketSegment, Product, Sale, SaleLine, db
from crm.seed import seed
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from tests.engine.conftest import TODAY, books, connect, work, worker_env
from tests.engine.infra import assert_books
from tests.engine.test_races import _sales
from tests.engine.test_sync import _check_company


def _roofing() -> list[Sale]:
    seg = db.session.scalar(sa.select(MarketSegment).filter_by(name="Roofing"))
    assert seg is not None
    return list(db.session.scalars(sa.select(Sale).filter_by(market_segment_id=seg.id)))


def _last_run() -> SyncRun:
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None
    db.session.refresh(run)
    return run


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("lose_response_after_write", 4),
        ("429", 3),
        ("500", 4),
        ("503", 3),
        ("drop_before_write", 3),
    ],
)
def test_faults_during_a_run_leave_the_same_books(
    crm: Flask, emulator: EmulatorProcess, kind: str, count: int
) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    realm = emulator.realm_ids["Company A"]
    for entity in ("Customer", "Invoice", "Payment", None):
        emulator.inject(realm, kind, count=count, entity=entity)
    start_sync(profile)
    work()
    run = _last_run()
    assert run.status is RunStatus.SUCCEEDED, run.message
    _check_company(emulator, "Company A", _roofing())


def test_expired_tokens_are_refreshed_and_the_rotated_one_is_kept(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    before = profile.company.refresh_token_enc
    emulator.expire_tokens()
    start_sync(profile)
    work()
    assert _last_run().status is RunStatus.SUCCEEDED
    db.session.refresh(profile)
    assert profile.company.refresh_token_enc != before  # the rotated refresh token was saved
    assert profile.company_id is not None
    assert_books(emulator, "Company A", profile.company_id, _roofing())
    emulator.expire_tokens()  # and it works: a later run refreshes with the saved one
    start_sync(profile)
    work()
    assert _last_run().status is RunStatus.SUCCEEDED


def test_a_refused_refresh_token_stops_only_that_profile(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    roofing = connect(emulator, "Roofing", "Company A")
    siding = connect(emulator, "Siding", "Company B")
    emulator.expire_tokens(refresh_tokens=True)  # every token dies, refresh tokens too
    siding = connect(emulator, "Siding", "Company B")  # ... and Siding connects again
    start_sync(roofing)
    start_sync(siding)
    work()
    runs = {r.profile_id: r for r in db.session.scalars(sa.select(SyncRun))}
    db.session.refresh(roofing)
    assert runs[roofing.id].status is RunStatus.FAILED
    assert "connect the workbook again" in (runs[roofing.id].message or "")
    assert roofing.reconnect_needed
    assert runs[siding.id].status is RunStatus.SUCCEEDED
    assert siding.company_id is not None
    assert_books(emulator, "Company B", siding.company_id, _sales("Siding"))


def _worker(app: Flask, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker", "--burst"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_killed_mid_run_resumes_without_duplicates(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    app = app_ctx
    seed(customers=100, seed_value=5, today=TODAY)
    # many small writes: many places to be killed between
    env = worker_env(app, emulator_port, run_lock_seconds="1", batch_size="5")
    with EmulatorProcess(
        db_path=tmp_path / "emu.db",
        port=emulator_port,
        latency_ms=150,
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
    ) as emu:
        profile = connect(emu, "Roofing", "Company A")
        profile_id = profile.id
        realm = emu.realm_ids["Company A"]
        kills = 0
        for _ in range(8):  # each worker is killed just after it has written something
            if kills == 3:
                break
            start_sync(db.session.get(SyncProfile, profile_id))  # new, or joins a queued one
            before = emu.stats(realm)["writes"]
            proc = _worker(app, env)
            deadline = time.monotonic() + 30
            while (
                proc.poll() is None
                and emu.stats(realm)["writes"] == before
                and time.monotonic() < deadline
            ):
                time.sleep(0.02)
            db.session.expire_all()
            mid_run = _last_run().status is RunStatus.RUNNING
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += mid_run
            proc.wait()
            time.sleep(1.2)  # the dead run's lock expires
        assert kills >= 2, f"only {kills} worker(s) were killed in the middle of a run"
        start_sync(db.session.get(SyncProfile, profile_id))
        work()
        run = _last_run()
        assert run.status is RunStatus.SUCCEEDED, run.message
        _check_company(emu, "Company A", _roofing())


def test_an_unanswered_batch_is_replayed_even_when_part_of_it_left_the_scope(
    app_ctx: Flask, emulator: EmulatorProcess
) -> None:
    roofing = MarketSegment(name="Roofing")
    shingles = Product(name="Shingles", unit_price=Decimal("100.00"))
    ann = Customer(first_name="Ann", last_name="Lee", email="ann@example.com")
    bob = Customer(first_name="Bob", last_name="Ray", email="bob@example.com")
    sales = [
        Sale(
            number=f"S{n}",
            customer=c,
            market_segment=roofing,
            sold_on=date(2026, 5, 1),
            lines=[SaleLine(product=shingles, quantity=Decimal(2), unit_price=Decimal("100.00"))],
        )
        for n, c in ((1, ann), (2, bob))
    ]
    db.session.add_all([roofing, shingles, ann, bob, *sales])
    db.session.commit()
    profile = connect(emulator, "Roofing", "Company A")
    realm = emulator.realm_ids["Company A"]
    # Both customers are written in one batch whose reply never arrives, however often it is sent.
    emulator.inject(realm, "lose_response_after_write", count=50, entity="batch")
    start_sync(profile)
    work()
    assert _last_run().status is RunStatus.PARTIAL
    emulator.clear_faults(realm)
    qbo = books(emulator, "Company A")
    assert sorted(c["DisplayName"] for c in qbo.all("Customer")) == ["Ann Lee", "Bob Ray"]

    db.session.delete(sales[1])  # Bob leaves the scope: Ann's batch is resent without him
    db.session.commit()
    start_sync(profile)
    work()

    assert _last_run().status is RunStatus.SUCCEEDED
    customers = qbo.all("Customer")
    assert sorted(c["DisplayName"] for c in customers) == ["Ann Lee", "Bob Ray"]  # no twin
    rec = db.session.scalar(
        sa.select(SyncDocument).filter_by(kind=DocKind.CUSTOMER, local_id=str(ann.id))
    )
    assert rec is not None and rec.status is RecordStatus.SYNCED
    assert rec.qbo_id == next(c["Id"] for c in customers if c["DisplayName"] == "Ann Lee")
    assert [i["DocNumber"] for i in qbo.all("Invoice")] == ["S1"]
