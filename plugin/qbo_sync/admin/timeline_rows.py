"""What the timeline and the run page show of each event: its time in the office's zone, its
company, its run, the record by its CRM label, the fields a sent body changed (against the
body sent before it for the same document) and the link into QuickBooks; and the small words
of the run history (who started a run, how long it took, the pages).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..config import Settings
from ..links import document_url
from ..models import Company, DocKind, EventKind, OpKind, SyncEvent, SyncRun, utcnow
from ..source import CRMSource, RecordKind
from .field_changes import BodyDiff, diff_texts
from .panels import LINKABLE, when

# The documents that make up each kind of CRM record's history.
RECORD_DOC_KINDS: dict[RecordKind, tuple[DocKind, ...]] = {
    RecordKind.SALE: (DocKind.INVOICE,),
    RecordKind.RECEIPT: (DocKind.PAYMENT,),
    RecordKind.ADJUSTMENT: (DocKind.CREDIT_MEMO, DocKind.CREDIT_APPLICATION),
    RecordKind.CUSTOMER: (DocKind.CUSTOMER,),
}
FAILURE_EVENTS = (EventKind.FAILED, EventKind.BLOCKED, EventKind.UNANSWERED)
WRITES = (OpKind.CREATE, OpKind.UPDATE)


@dataclass(frozen=True)
class Pages:
    page: int
    total: int
    per_page: int

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.count


@dataclass(frozen=True)
class EventRow:
    event: SyncEvent
    at: str  # in the office's zone
    company: str
    record: str  # the CRM's label of the record ("Sale S400 (William Smith)")
    record_kind: str | None  # its RecordKind, when it has a timeline
    diff: BodyDiff | None  # what a sent create or update changed
    qbo_url: str | None
    run_kept: bool  # its run still has a page (retention.py removes old ones)

    @property
    def what(self) -> str:
        return self.event.event.value

    @property
    def operation(self) -> str | None:
        return self.event.op.value if self.event.op is not None else None


def started_by(run: SyncRun) -> str:
    """ "admin page (office)", "schedule", ..."""
    return f"{run.trigger} ({run.started_by})" if run.started_by else str(run.trigger)


def duration(run: SyncRun) -> str:
    """How long the run took ("2 min 5 s"); how long it has run so far if it has not ended."""
    if run.started_at is None:
        return ""
    end: datetime = run.ended_at or utcnow()
    seconds = max(0, int((end - run.started_at).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _labels(source: CRMSource, events: Sequence[SyncEvent]) -> dict[tuple[DocKind, str], str]:
    """The CRM's labels of the events' records: one call per kind of record."""
    wanted: dict[RecordKind, set[str]] = defaultdict(set)
    for e in events:
        record = LINKABLE.get(e.kind)
        if record is not None:
            wanted[record].add(e.local_id)
    named: dict[tuple[RecordKind, str], str] = {}
    for record, ids in wanted.items():
        for local_id, label in source.record_labels(record, sorted(ids)).items():
            named[(record, local_id)] = label
    out: dict[tuple[DocKind, str], str] = {}
    for e in events:
        kind_of = LINKABLE.get(e.kind)
        found = named.get((kind_of, e.local_id)) if kind_of is not None else None
        out[(e.kind, e.local_id)] = found or f"{e.kind.entity} {e.local_id}"
    return out


def _diffs(session: Session, events: Sequence[SyncEvent]) -> dict[int, BodyDiff]:
    """Each sent create or update against the body sent before it for the same document (one
    query for the earlier bodies of all the documents concerned)."""
    sent = [e for e in events if e.event is EventKind.SENT and e.op in WRITES and e.body]
    docs = {e.document_id for e in sent if e.document_id is not None}
    if not docs:
        return {}
    earlier: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for event_id, document_id, body in session.execute(
        sa.select(SyncEvent.id, SyncEvent.document_id, SyncEvent.body)
        .where(
            SyncEvent.document_id.in_(sorted(docs)),
            SyncEvent.event == EventKind.SENT,
            SyncEvent.op.in_(WRITES),
        )
        .order_by(SyncEvent.id)
    ):
        earlier[int(document_id or 0)].append((int(event_id), str(body)))
    out: dict[int, BodyDiff] = {}
    for e in sent:
        before = [b for i, b in earlier.get(e.document_id or 0, []) if i < e.id]
        out[e.id] = diff_texts(before[-1] if before else None, str(e.body))
    return out


def event_rows(
    session: Session, settings: Settings, source: CRMSource, events: Sequence[SyncEvent]
) -> list[EventRow]:
    companies = {
        c.id: c
        for c in session.scalars(
            sa.select(Company).where(Company.id.in_(sorted({e.company_id for e in events})))
        )
    }
    labels = _labels(source, events)
    diffs = _diffs(session, events)
    named = sorted({e.run_id for e in events if e.run_id is not None})
    kept = set(session.scalars(sa.select(SyncRun.id).where(SyncRun.id.in_(named))))
    rows = []
    for e in events:
        company = companies.get(e.company_id)
        record = LINKABLE.get(e.kind)
        rows.append(
            EventRow(
                event=e,
                at=when(e.at),
                company=company.label if company is not None else f"company {e.company_id}",
                record=labels[(e.kind, e.local_id)],
                record_kind=record.value if record is not None else None,
                diff=diffs.get(e.id),
                qbo_url=document_url(
                    settings, company.realm_id if company else None, e.kind, e.qbo_id
                ),
                run_kept=e.run_id in kept,
            )
        )
    return rows
