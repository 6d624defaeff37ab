"""How long the history is kept (QBO_SYNC_HISTORY_DAYS): over real runs against the emulator,
history made old is pruned by `flask qbo prune-history` and by the workers' maintenance, while
what the page and the engine need stays: each record's newest event of each kind, the card's
last run, the failures a run page lists, and the books (a run after pruning writes nothing, an
edit after it is shown against the body last sent)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.config import load_settings
from qbo_sync.errors import ConfigurationError
from qbo_sync.models import (
    DocKind,
    EventKind,
    RunStatus,
    SyncDocument,
    SyncEvent,
    SyncRun,
)
from qbo_sync.retention import GATE_KEY, keep_history, kept_words
from qbo_sync.state import qbo_state

from crm.models import Receipt, SaleLine, db
from tests.admin_page.conftest import PAGE, connected_profile
from tests.admin_page.test_history import _get, _receipt, _sync, _text
from tests.engine.conftest import books

AGE = timedelta(days=800)  # older than the default 730 days kept


def _age_everything() -> None:
    """Make every event and run so far 800 days old, as if the office had used them that long
    ago (stored times are UTC: both columns move together)."""
    for event in db.session.scalars(sa.select(SyncEvent)):
        event.at -= AGE
    for run in db.session.scalars(sa.select(SyncRun)):
        run.created_at -= AGE
        run.started_at = run.started_at and run.started_at - AGE
        run.ended_at = run.ended_at and run.ended_at - AGE
    db.session.commit()


def _events_of(kind: DocKind, local_id: int) -> list[tuple[EventKind, int | None]]:
    return [
        (e.event, e.run_id)
        for e in db.session.scalars(
            sa.select(SyncEvent).filter_by(kind=kind, local_id=str(local_id)).order_by(SyncEvent.id)
        )
    ]


def _needed_runs() -> set[int]:
    """The runs the documents name (their last run, the run of an unsettled write) and the
    company's last finished run: what pruning must keep, read from the rows themselves."""
    named = {
        run_id
        for doc in db.session.scalars(sa.select(SyncDocument))
        for run_id in (doc.last_run_id, doc.op_run_id)
        if run_id is not None
    }
    finished = [r for r in db.session.scalars(sa.select(SyncRun)) if r.ended_at is not None]
    return named | {max(r.id for r in finished)}


def _runs() -> list[int]:
    return list(db.session.scalars(sa.select(SyncRun.id).order_by(SyncRun.id)))


def _prune(client: FlaskClient, *args: str) -> str:
    result = client.application.test_cli_runner().invoke(args=["qbo", "prune-history", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_old_history_is_pruned_and_what_the_page_and_the_books_need_stays(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = connected_profile(signed_in, emulator)
    first = _sync(signed_in, profile)
    line = db.session.scalar(sa.select(SaleLine).filter_by(sale_id=shop["sale"]))
    assert line is not None
    line.quantity = Decimal("12")
    db.session.commit()
    second = _sync(signed_in, profile)
    zero = _receipt(shop, "R901", "0.00")  # cannot be sent: failed in the third run
    third = _sync(signed_in, profile)
    fourth = _sync(signed_in, profile)  # nothing new: R901 still failed, told by the third
    assert [first.status, second.status] == [RunStatus.SUCCEEDED] * 2
    assert [third.status, fourth.status] == [RunStatus.PARTIAL] * 2
    first, second, third, fourth = (r.id for r in (first, second, third, fourth))
    sale = (DocKind.INVOICE, shop["sale"])
    assert _events_of(*sale) == [
        (EventKind.SENT, first),
        (EventKind.WRITTEN, first),
        (EventKind.SENT, second),
        (EventKind.WRITTEN, second),
    ]
    everything = int(db.session.scalar(sa.select(sa.func.count(SyncEvent.id))) or 0)

    # Recent history is all kept
    assert "Removed 0 event(s) and 0 run(s)" in _prune(signed_in)

    # Made 800 days old, it goes, but for each record's newest event of each kind, the last
    # run (the card's details), and the runs the documents still name
    _age_everything()
    output = _prune(signed_in)
    after = int(db.session.scalar(sa.select(sa.func.count(SyncEvent.id))) or 0)
    assert _events_of(*sale) == [(EventKind.SENT, second), (EventKind.WRITTEN, second)]
    assert _events_of(DocKind.PAYMENT, zero.id) == [(EventKind.FAILED, third)]
    removed_runs = {first, second, third, fourth} - set(_runs())
    assert removed_runs == {first, second, third, fourth} - _needed_runs()
    assert third in removed_runs  # R901 failed in it, failed again (silently) in the fourth
    assert re.search(
        rf"Removed {everything - after} event\(s\) and {len(removed_runs)} run\(s\) from before "
        r"\d+/\d+/\d{4} \d+:\d\d [AP]M\.",
        output,
    ), output
    assert everything - after >= 2
    assert "Removed 0 event(s) and 0 run(s)" in _prune(signed_in)  # a second pass: nothing

    # The page still stands: the card's details, the last run's failures, the history of the
    # runs kept, and the timeline, whose events of a removed run say so
    card = _text(_get(signed_in, ""))
    assert "Last Synchronization Details" in card
    failures = _get(signed_in, f"runs/{fourth}").split("qbo-run-failures")[1]
    assert "Receipt R901" in failures.split("</table>")[0]
    history = _get(signed_in, f"history/{profile.company_id}")
    kept = (
        "History older than 730 days is removed; each record's latest events and each "
        "company's last run stay."
    )
    assert kept in _text(history)
    assert re.findall(r'data-run="(\d+)"', history) == [str(r) for r in reversed(_runs())]
    timeline = _get(signed_in, f"timeline/receipt/{zero.id}")
    assert f"run {third} (no longer kept)" in _text(timeline)
    assert f'href="/admin/qbo/runs/{third}"' not in timeline
    assert "non-positive amount" in _text(timeline)
    assert kept in _text(timeline)
    assert signed_in.get(f"{PAGE}runs/{third}").status_code == 404

    # The books did not move: a run now writes nothing; an edit is shown against the body
    # last sent (kept), and lands
    db.session.delete(db.session.get(Receipt, zero.id))
    db.session.commit()
    reader = books(emulator, "Company A")
    writes = emulator.stats(reader.realm)["writes"]
    quiet = _sync(signed_in, profile)
    assert quiet.status is RunStatus.SUCCEEDED
    assert emulator.stats(reader.realm)["writes"] == writes
    line = db.session.scalar(sa.select(SaleLine).filter_by(sale_id=shop["sale"]))
    assert line is not None
    line.quantity = Decimal("15")
    db.session.commit()
    assert _sync(signed_in, profile).status is RunStatus.SUCCEEDED
    text = _text(_get(signed_in, f"timeline/sale/{shop['sale']}"))
    assert "Line.0.SalesItemLineDetail.Qty 12.00 → 15.00" in text
    invoices = reader.query("select * from Invoice")
    assert [Decimal(str(i["TotalAmt"])) for i in invoices] == [Decimal("1500.00")]


def test_the_maintenance_pass_prunes_once_an_hour_among_all_workers(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = connected_profile(signed_in, emulator)
    _sync(signed_in, profile)
    line = db.session.scalar(sa.select(SaleLine).filter_by(sale_id=shop["sale"]))
    assert line is not None
    line.quantity = Decimal("11")
    db.session.commit()
    second = _sync(signed_in, profile).id
    _age_everything()
    unneeded = set(_runs()) - _needed_runs()
    conn = qbo_state().redis
    conn.delete(GATE_KEY)
    try:
        done = keep_history()
        assert done is not None and done.runs == len(unneeded)
        db.session.expire_all()
        assert set(_runs()).isdisjoint(unneeded)
        assert [run for _, run in _events_of(DocKind.INVOICE, shop["sale"])] == [second] * 2
        assert done.events >= 2  # the first run's sent and written, at least
        # another worker's pass within the hour does nothing, even with old history waiting
        _sync(signed_in, profile)
        _age_everything()
        before = len(db.session.scalars(sa.select(SyncEvent.id)).all())
        assert keep_history() is None
        assert len(db.session.scalars(sa.select(SyncEvent.id)).all()) == before
        assert 3500 < conn.ttl(GATE_KEY) <= 3600
    finally:
        conn.delete(GATE_KEY)


def test_the_days_kept_are_a_setting_where_0_keeps_everything() -> None:
    assert kept_words(0) == "History is kept for ever."
    assert load_settings({}, {}).history_days == 730
    assert load_settings({"QBO_SYNC_HISTORY_DAYS": "0"}, {}).history_days == 0
    with pytest.raises(ConfigurationError, match="QBO_SYNC_HISTORY_DAYS must be 0"):
        load_settings({"QBO_SYNC_HISTORY_DAYS": "-1"}, {})
    with pytest.raises(ConfigurationError, match="must be a number"):
        load_settings({"QBO_SYNC_HISTORY_DAYS": "two years"}, {})
