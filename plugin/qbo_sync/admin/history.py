"""The office's view of the past: a company's run history (`.history`), one run's page
(`.run_page`) and a record's timeline (`.timeline`), read from the runs and the event log;
and the `previewed` events a preview records.

A routes mixin of QBOSyncView (behind the page's login like every other route). What the rows
says is worked out in admin.timeline_rows; times are shown in the office's zone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import abort, request
from flask_admin import expose
from sqlalchemy.orm import Session, selectinload

from ..details import phase_lines
from ..engine.run import Preview
from ..models import (
    Company,
    DocKind,
    EventKind,
    RecordStatus,
    RunStatus,
    SyncDocument,
    SyncEvent,
    SyncRun,
)
from ..retention import kept_words
from ..source import RecordKind
from ..state import qbo_state
from .panels import OUTCOMES, PHASE_NAMES, when
from .timeline_rows import (
    FAILURE_EVENTS,
    RECORD_DOC_KINDS,
    EventRow,
    Pages,
    duration,
    event_rows,
    started_by,
)

RUNS_PER_PAGE = 50
EVENTS_PER_PAGE = 100
BUDGET = ("requests", "reads", "writes", "batches", "throttled")
COUNTS = ("created", "updated", "unchanged", "failed", "blocked")
TIMELINE_KINDS = (
    RecordKind.SALE,
    RecordKind.RECEIPT,
    RecordKind.ADJUSTMENT,
    RecordKind.CUSTOMER,
)


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def record_preview(session: Session, company: Company, result: Preview) -> None:
    """One `previewed` event per record the preview would change (its lines as the message),
    committed on its own."""
    lines: dict[tuple[DocKind, str], list[str]] = defaultdict(list)
    sales: dict[tuple[DocKind, str], str | None] = {}
    for op, line in zip(result.ops, result.lines, strict=True):
        lines[op.key].append(line)
        if op.desired is not None and op.desired.sale_id:
            sales[op.key] = op.desired.sale_id
    if not lines:
        return
    docs: dict[tuple[DocKind, str], SyncDocument] = {}
    by_kind: dict[DocKind, list[str]] = defaultdict(list)
    for kind, local_id in lines:
        by_kind[kind].append(local_id)
    for kind, ids in by_kind.items():  # one query per kind
        for found in session.scalars(
            sa.select(SyncDocument).where(
                SyncDocument.company_id == company.id,
                SyncDocument.kind == kind,
                SyncDocument.local_id.in_(ids),
            )
        ):
            docs[(found.kind, found.local_id)] = found
    for key, said in lines.items():
        doc = docs.get(key)
        first = next(op for op in result.ops if op.key == key)
        session.add(
            SyncEvent(
                company_id=company.id,
                run_id=None,
                document_id=doc.id if doc is not None else None,
                kind=key[0],
                local_id=key[1],
                sale_id=sales.get(key) or (doc.sale_id if doc is not None else None),
                event=EventKind.PREVIEWED,
                op=first.op,
                qbo_id=doc.qbo_id if doc is not None else None,
                message="; ".join(said),
            )
        )
    session.commit()


class HistoryRoutes:
    """Mixed into QBOSyncView: the run history, a run's page and a record's timeline."""

    if TYPE_CHECKING:  # provided by flask_admin's BaseView

        def render(self, template: str, **kwargs: Any) -> str: ...

    @expose("/history/<int:company_id>")
    def history(self, company_id: int) -> str:
        session = qbo_state().db.session()
        company = session.get(Company, company_id)
        if company is None:
            abort(404)
        page = _page()
        total = session.scalar(
            sa.select(sa.func.count(SyncRun.id)).where(SyncRun.company_id == company_id)
        )
        runs = session.scalars(
            sa.select(SyncRun)
            .where(SyncRun.company_id == company_id)
            .options(selectinload(SyncRun.phases))
            .order_by(SyncRun.id.desc())
            .offset((page - 1) * RUNS_PER_PAGE)
            .limit(RUNS_PER_PAGE)
        ).all()
        return self.render(
            "qbo_sync/history.html",
            company=company,
            runs=runs,
            pages=Pages(page, int(total or 0), RUNS_PER_PAGE),
            when=when,
            outcome=lambda run: OUTCOMES.get(run.status, str(run.status)),
            started_by=started_by,
            duration=duration,
            phase_names=PHASE_NAMES,
            counts=COUNTS,
            budget=BUDGET,
            kept=kept_words(qbo_state().settings.history_days),
        )

    @expose("/runs/<int:run_id>")
    def run_page(self, run_id: int) -> str:
        st = qbo_state()
        session = st.db.session()
        run = session.get(SyncRun, run_id)
        if run is None:
            abort(404)
        page = _page()
        mine = sa.select(SyncEvent).where(SyncEvent.run_id == run_id)
        total = session.scalar(
            sa.select(sa.func.count(SyncEvent.id)).where(SyncEvent.run_id == run_id)
        )
        events = session.scalars(
            mine.order_by(SyncEvent.id).offset((page - 1) * EVENTS_PER_PAGE).limit(EVENTS_PER_PAGE)
        ).all()
        # Its failures: those it met, and the records it left failed or blocked for a reason
        # already told (their latest failure event, of an earlier run: no new event was due).
        held = sa.select(SyncDocument.id).where(
            SyncDocument.company_id == run.company_id,
            SyncDocument.last_run_id == run_id,
            SyncDocument.status.in_([RecordStatus.FAILED, RecordStatus.BLOCKED]),
        )
        latest = (
            sa.select(sa.func.max(SyncEvent.id))
            .where(SyncEvent.document_id.in_(held), SyncEvent.event.in_(FAILURE_EVENTS))
            .group_by(SyncEvent.document_id)
        )
        failed = session.scalars(
            sa.select(SyncEvent)
            .where(
                sa.or_(
                    sa.and_(SyncEvent.run_id == run_id, SyncEvent.event.in_(FAILURE_EVENTS)),
                    SyncEvent.id.in_(latest),
                )
            )
            .order_by(SyncEvent.id)
            .limit(500)
        ).all()
        rows = event_rows(session, st.settings, st.source, events)
        grouped: dict[str, list[EventRow]] = defaultdict(list)
        for row in rows:
            grouped[row.operation or "other"].append(row)
        return self.render(
            "qbo_sync/run.html",
            run=run,
            lines=phase_lines(run, st.settings.zone),
            outcome=OUTCOMES.get(run.status, str(run.status)),
            running=run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
            started_by=started_by(run),
            duration=duration(run),
            when=when,
            grouped=dict(grouped),
            failures=event_rows(session, st.settings, st.source, failed),
            pages=Pages(page, int(total or 0), EVENTS_PER_PAGE),
            budget=BUDGET,
        )

    @expose("/timeline/<record_kind>/<local_id>")
    def timeline(self, record_kind: str, local_id: str) -> str:
        if record_kind not in {k.value for k in TIMELINE_KINDS}:
            abort(404)
        kind = RecordKind(record_kind)
        st = qbo_state()
        session = st.db.session()
        mine = sa.and_(SyncEvent.kind.in_(RECORD_DOC_KINDS[kind]), SyncEvent.local_id == local_id)
        if kind is RecordKind.SALE:
            mine = sa.or_(mine, SyncEvent.sale_id == local_id)
        total = int(session.scalar(sa.select(sa.func.count(SyncEvent.id)).where(mine)) or 0)
        label = st.source.record_labels(kind, [local_id]).get(local_id)
        if label is None and not total:
            abort(404)
        page = _page()
        pages = Pages(page, total, EVENTS_PER_PAGE)
        shown = session.scalars(
            sa.select(SyncEvent)
            .where(mine)
            .order_by(SyncEvent.at.desc(), SyncEvent.id.desc())
            .offset((page - 1) * EVENTS_PER_PAGE)
            .limit(EVENTS_PER_PAGE)
        ).all()
        rows = event_rows(session, st.settings, st.source, shown)
        return self.render(
            "qbo_sync/timeline.html",
            label=label or f"{kind.value.title()} #{local_id}",
            record_url=st.source.record_url(kind, local_id) if label else None,
            rows=rows,
            pages=pages,
            record_kind=kind.value,
            local_id=local_id,
            kept=kept_words(st.settings.history_days),
        )
