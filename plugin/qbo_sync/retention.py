"""How long the history is kept: the record timeline's events and the runs (with their phases)
older than QBO_SYNC_HISTORY_DAYS are removed, by the workers' maintenance (at most once an hour
across every worker) or by `flask qbo prune-history`.

What the page and the engine still need is never removed, however old:
- each record's newest event of each kind (its last write and the body sent, its last failure,
  its last preview), so the timeline still ends where the record stands, a changed field is
  still shown against the body last sent, and a run page still lists a record left failed;
- each company's last finished run (the card's "Last Synchronization Details"), every run not
  ended, and every run a document still names (its last run, or the run of its unsettled write).

History is not the books: what was written to QuickBooks is kept in the documents' own rows
(qbo_sync_document), which this never touches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from .models import SyncDocument, SyncEvent, SyncRun, SyncRunPhase, utcnow
from .state import qbo_state

log = logging.getLogger(__name__)

BATCH = 2000  # rows per DELETE, each in its own short transaction
GATE_KEY = "qbo_sync:history-pruned"
GATE_SECONDS = 3600


@dataclass(frozen=True)
class Pruned:
    """What one pass removed, and from before when."""

    before: datetime
    events: int
    runs: int


def kept_words(days: int) -> str:
    """What the history pages say of how long they reach back."""
    if days == 0:
        return "History is kept for ever."
    return (
        f"History older than {days} days is removed; each record's latest events and each "
        "company's last run stay."
    )


def _old_events(before: datetime) -> sa.Select[int]:
    """Events older than `before` with a newer event of the same kind for the same record."""
    newer = aliased(SyncEvent)
    return sa.select(SyncEvent.id).where(
        SyncEvent.at < before,
        sa.exists().where(
            newer.company_id == SyncEvent.company_id,
            newer.kind == SyncEvent.kind,
            newer.local_id == SyncEvent.local_id,
            newer.event == SyncEvent.event,
            newer.id > SyncEvent.id,
        ),
    )


def _old_runs(before: datetime) -> sa.Select[int]:
    """Runs ended before `before` that no page, document or company still needs."""
    last_finished = (
        sa.select(sa.func.max(SyncRun.id))
        .where(SyncRun.ended_at.is_not(None))
        .group_by(SyncRun.company_id)
    )
    named = sa.union(
        sa.select(SyncDocument.last_run_id).where(SyncDocument.last_run_id.is_not(None)),
        sa.select(SyncDocument.op_run_id).where(SyncDocument.op_run_id.is_not(None)),
    ).subquery()
    return sa.select(SyncRun.id).where(
        SyncRun.ended_at.is_not(None),
        SyncRun.ended_at < before,
        SyncRun.id.not_in(last_finished),
        SyncRun.id.not_in(sa.select(named.c[0])),
    )


def _delete_in_batches(
    session: Session, chosen: sa.Select[int], targets: list[InstrumentedAttribute[int]]
) -> int:
    """Delete the rows `chosen` names, BATCH at a time, through each of `targets` (the column
    holding the chosen id in each table, dependants first); how many ids were chosen."""
    removed = 0
    while True:
        ids = list(session.scalars(chosen.order_by(chosen.selected_columns[0]).limit(BATCH)))
        if not ids:
            return removed
        for column in targets:
            session.execute(
                sa.delete(column.class_)
                .where(column.in_(ids))
                .execution_options(synchronize_session=False)
            )
        session.commit()
        removed += len(ids)


def prune_history(session: Session, days: int, now: datetime | None = None) -> Pruned:
    """Remove the events and runs older than `days` days that nothing needs (see above)."""
    before = (now or utcnow()) - timedelta(days=days)
    events = _delete_in_batches(session, _old_events(before), [SyncEvent.id])
    runs = _delete_in_batches(session, _old_runs(before), [SyncRunPhase.run_id, SyncRun.id])
    if events or runs:
        log.info("history older than %d days pruned: %d event(s), %d run(s)", days, events, runs)
    return Pruned(before, events, runs)


def keep_history(conn: redis.Redis | None = None) -> Pruned | None:
    """The workers' maintenance pass: prune, at most once an hour among all workers (the first
    to set the gate in Redis does it); None when it was not this worker's turn or history is
    kept for ever (QBO_SYNC_HISTORY_DAYS=0)."""
    st = qbo_state()
    days = st.settings.history_days
    if days == 0:
        return None
    conn = st.redis if conn is None else conn
    if not conn.set(GATE_KEY, "1", nx=True, ex=GATE_SECONDS):
        return None
    with Session(st.db.engine) as session:
        return prune_history(session, days)
