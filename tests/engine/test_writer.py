"""The writer keeps QuickBooks' pipe full: batches while the company's batch window has room,
single requests beside them once it is full, several in flight at once, and every one of
them journaled before it goes. What lands in QuickBooks is still exactly the CRM's books, and
a second run writes nothing.

The worker is a real `flask qbo worker` process with a budget of only two batches a minute, so
one run meets the full batch window and has to go on with singles."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from qbo_sync.jobs import queue, start_sync

from crm.models import Customer, Receipt, db
from crm.seed import seed
from tests.engine.conftest import TODAY, connect
from tests.engine.infra import until
from tests.engine.test_races import (
    _assert_books_and_quiet,
    _emulator,
    _ended,
    _env,
    _run,
    _workers,
)


def test_once_the_batch_window_is_full_the_rest_goes_alone_beside_it_and_lands_once(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    seed(customers=40, seed_value=5, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port, batch_per_minute="2", batch_size="10", max_in_flight="4")
    with _emulator(tmp_path, emulator_port, 20) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, None, "Company A")
        profile_id = profile.id
        run, _ = start_sync(profile)
        with _workers(env, tmp_path) as workers:
            assert workers.start(burst=True).wait(timeout=120) == 0
        done = _run(run.id)
        assert done.status.value == "succeeded", done.message
        stats = emu.stats(realm)
        by_entity = stats["by_entity"]
        # The run took well under a minute: the budget's two batches, then everything alone.
        assert by_entity.get("batch", 0) == 2, by_entity
        customers = db.session.query(Customer).count()
        assert by_entity.get("Customer", 0) >= customers - 2 * 10
        assert by_entity.get("Invoice", 0) > 0 and by_entity.get("Payment", 0) > 0
        # A 429 QuickBooks may give here (a loaded machine bunches requests the budget spread
        # over their second) is waited out: the run still succeeds and lands everything once.
        # Staying under the limits at full speed is what `make bench` measures (0 429s).
        assert done.stats is not None
        assert db.session.query(Receipt).count() > 0
        _assert_books_and_quiet(
            emu, profile_id, "Windows & Doors", "Roofing", "Siding", "Bath Remodel"
        )


def test_a_request_slower_than_the_run_lock_costs_no_lock_while_others_are_out(
    app_ctx: Flask, emulator_port: int, tmp_path: Path
) -> None:
    """A batch hangs in QuickBooks three times longer than the run's lock lives. The run's
    thread, waiting for its sending threads, keeps beating: no second worker takes the run up
    (it is resumed only when silent), and everything is written once."""
    seed(customers=30, seed_value=9, today=TODAY)
    queue().empty()
    env = _env(app_ctx, emulator_port, run_lock_seconds="1", max_in_flight="4")
    with _emulator(tmp_path, emulator_port, 0) as emu:
        realm = emu.realm_ids["Company A"]
        profile = connect(emu, "Roofing", "Company A")
        profile_id = profile.id
        with _workers(env, tmp_path) as workers:
            both = [workers.start(), workers.start()]  # the second one would resume a silent run
            until("two idle workers", lambda: all(workers.idle(w) for w in both), 30)
            emu.inject(realm, "slow", count=1, entity="batch", seconds=3.0)
            run, _ = start_sync(profile)
            done = until("the run to end", lambda: _ended(run.id), 90)
        assert done.status.value == "succeeded", done.message
        assert done.attempts == 1  # never taken for dead, never resumed
        assert int(emu.stats(realm)["replays"]) == 0
        _assert_books_and_quiet(emu, profile_id, "Roofing")
