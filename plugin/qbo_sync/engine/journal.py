"""The recorded state of one company's documents, and the write protocol around it.

Before a write, the operation (kind, exact body, the hash it settles with, request id) is
journaled on its document and committed, under the run's fencing token. After QuickBooks
answers, the document's recorded state (Id, SyncToken, hash, facts, live) or the refusal is
committed at once. An operation that was never answered stays journaled and is resent,
byte for byte, under its own request id before anything new is planned for the document.

Each step also tells the record timeline (events.py), whose events the commit that makes the
changes durable inserts in its transaction. A step that changes nothing (a document unchanged,
a document blocked again for the same reason) tells nothing, and a preview (`dry`) nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import QBORequestError, QBOSyncError
from ..mapping import operation_request_id
from ..models import (
    Company,
    DocKind,
    EventKind,
    OpKind,
    RecordStatus,
    SyncDocument,
    utcnow,
)
from .events import RunEvents
from .explain import blocked_by, explain

CHUNK = 500


def _told(why: str | None, error: QBORequestError) -> str:
    """Our plain words, then what QuickBooks itself said (its message names the field)."""
    said = str(error)[:1000]
    return f"{why} QuickBooks said: {said}" if why and said and said not in why else why or said


class RunSuperseded(QBOSyncError):
    """Another run took this company (its fencing token is newer); this one must stop."""


def take_fence(session: Session, company_id: int) -> int:
    """A new fencing token for the company: every later commit of older runs is refused."""
    table = cast(sa.Table, Company.__table__)
    session.execute(
        sa.update(table).where(table.c.id == company_id).values(fence=table.c.fence + 1)
    )
    token = session.execute(sa.select(table.c.fence).where(table.c.id == company_id)).scalar_one()
    session.commit()
    return int(token)


class Journal:
    """Loads, creates and settles the documents of one company for one run."""

    def __init__(
        self, session: Session, company_id: int, realm_id: str, run_id: int, fence: int
    ) -> None:
        self.session = session
        self.company_id = company_id
        self.realm_id = realm_id
        self.run_id = run_id
        self.fence = fence
        self.events = RunEvents(company_id, run_id)  # the timeline's, inserted by commit()

    @property
    def dry(self) -> bool:
        """A preview: nothing is ever committed, and nothing told to the timeline."""
        return self.events.muted

    @dry.setter
    def dry(self, value: bool) -> None:
        self.events.muted = value

    # -- fencing -------------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit, unless a newer run holds the company: then roll back and stop this run."""
        if self.dry:
            self.session.flush()
            return
        table = cast(sa.Table, Company.__table__)
        held = cast(
            sa.CursorResult[Any],
            self.session.execute(
                sa.update(table)
                .where(table.c.id == self.company_id, table.c.fence == self.fence)
                .values(fence=table.c.fence)
            ),
        ).rowcount
        if not held:
            self.events.drop()
            self.session.rollback()
            raise RunSuperseded("another run of this company started; this one stopped")
        self.events.insert(self.session)  # the update flushed the session: documents have ids
        self.session.commit()

    def check_fence(self) -> None:
        """Stop (RunSuperseded) when a newer run has taken the company; a read, no lock."""
        if self.dry:
            return
        table = cast(sa.Table, Company.__table__)
        # Its own short connection: the session's transaction may hold an older snapshot.
        with self.session.get_bind().engine.connect() as conn:
            current = conn.execute(
                sa.select(table.c.fence).where(table.c.id == self.company_id)
            ).scalar_one()
        if int(current) != self.fence:
            self.session.rollback()
            raise RunSuperseded("another run of this company started; this one stopped")

    # -- loading -------------------------------------------------------------------------------

    def _query(self) -> sa.Select[SyncDocument]:
        return sa.select(SyncDocument).where(SyncDocument.company_id == self.company_id)

    def load(self, kind: DocKind, local_ids: Iterable[str]) -> dict[str, SyncDocument]:
        ids = sorted(set(local_ids))
        found: dict[str, SyncDocument] = {}
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            query = self._query().where(SyncDocument.kind == kind, SyncDocument.local_id.in_(part))
            for doc in self.session.scalars(query):
                found[doc.local_id] = doc
        return found

    def load_all(self, kind: DocKind) -> list[SyncDocument]:
        return list(self.session.scalars(self._query().where(SyncDocument.kind == kind)))

    def load_for_sales(
        self, sale_ids: Iterable[str], receipt_ids: Iterable[str]
    ) -> dict[tuple[DocKind, str], SyncDocument]:
        """The transactions recorded for these sales, or for these receipts and adjustments."""
        found: dict[tuple[DocKind, str], SyncDocument] = {}
        sales = sorted(set(sale_ids))
        receipts = sorted(set(receipt_ids))
        for start in range(0, len(sales), CHUNK):
            query = self._query().where(SyncDocument.sale_id.in_(sales[start : start + CHUNK]))
            for doc in self.session.scalars(query):
                found[(doc.kind, doc.local_id)] = doc
        kinds = [DocKind.PAYMENT, DocKind.CREDIT_MEMO, DocKind.CREDIT_APPLICATION]
        for start in range(0, len(receipts), CHUNK):
            query = self._query().where(
                SyncDocument.kind.in_(kinds),
                SyncDocument.local_id.in_(receipts[start : start + CHUNK]),
            )
            for doc in self.session.scalars(query):
                found[(doc.kind, doc.local_id)] = doc
        return found

    def recorded_sale_ids(self) -> list[str]:
        """Sales with a live or unanswered document in this company."""
        rows = self.session.scalars(
            sa.select(SyncDocument.sale_id)
            .where(
                SyncDocument.company_id == self.company_id,
                SyncDocument.sale_id.is_not(None),
                sa.or_(SyncDocument.live.is_(True), SyncDocument.op_request_id.is_not(None)),
            )
            .distinct()
        )
        return [str(s) for s in rows]

    def in_flight(self) -> list[SyncDocument]:
        """The unanswered operations, which the run resends first (their settlements are told
        as "resent" on the timeline)."""
        docs = list(
            self.session.scalars(
                self._query()
                .where(SyncDocument.op_request_id.is_not(None))
                .order_by(SyncDocument.op_batch_id, SyncDocument.id)
            )
        )
        self.events.resending(docs)
        return docs

    def get_or_new(self, kind: DocKind, local_id: str) -> SyncDocument:
        found = self.load(kind, [local_id])
        return found.get(local_id) or self.new(kind, local_id)

    def new(self, kind: DocKind, local_id: str) -> SyncDocument:
        doc = SyncDocument(
            company_id=self.company_id,
            kind=kind,
            local_id=local_id,
            status=RecordStatus.PENDING,
            generation=0,
            attempts=0,
            live=False,
            dirty=False,
        )
        self.session.add(doc)
        return doc

    def forget(self, docs: Iterable[SyncDocument]) -> None:
        """Let go of a finished chunk's documents, so memory stays flat over long runs."""
        for doc in docs:
            if doc in self.session:
                self.session.expunge(doc)

    # -- the write protocol ----------------------------------------------------------------

    def begin(
        self,
        doc: SyncDocument,
        op: OpKind,
        body_text: str,
        op_hash: str | None,
        facts: dict[str, Any] | None,
        include: str | None = None,
    ) -> str:
        """Journal one operation on the document (the caller commits) and return its id."""
        if doc.op_request_id:
            raise QBOSyncError(f"{doc.kind} {doc.local_id} already has an operation in flight")
        doc.generation = (doc.generation or 0) + 1
        doc.op_kind = op
        doc.op_body = body_text
        doc.op_hash = op_hash
        doc.op_facts = facts
        doc.op_include = include
        doc.op_batch_id = doc.op_bid = doc.op_single = None
        doc.op_run_id = self.run_id
        doc.op_request_id = operation_request_id(
            self.realm_id, doc.kind.value, doc.local_id, op.value, doc.generation
        )
        doc.attempts = (doc.attempts or 0) + 1
        doc.status = RecordStatus.IN_FLIGHT
        doc.last_run_id = self.run_id
        self.events.add(doc, EventKind.SENT, op=op, request_id=doc.op_request_id, body=body_text)
        return doc.op_request_id

    def succeeded(self, doc: SyncDocument, entity: dict[str, Any]) -> None:
        self.events.resent(doc)
        op = doc.op_kind
        request_id = doc.op_request_id
        if op in (OpKind.CREATE, OpKind.UPDATE):
            doc.qbo_id = str(entity.get("Id", doc.qbo_id))
            doc.live = True
        else:
            doc.live = False
        doc.sync_token = str(entity.get("SyncToken", doc.sync_token or "0"))
        doc.payload_hash = doc.op_hash if op in (OpKind.CREATE, OpKind.UPDATE) else None
        if doc.op_facts is not None:
            doc.facts = doc.op_facts
        self._clear_op(doc)
        self._settle(doc, RecordStatus.SYNCED)
        done = EventKind.WRITTEN if op in (OpKind.CREATE, OpKind.UPDATE) else EventKind.VOIDED
        self.events.add(doc, done, op=op, request_id=request_id)

    def linked(self, doc: SyncDocument, entity: dict[str, Any], note: str) -> None:
        """The document is one QuickBooks already had (found by name or number)."""
        doc.qbo_id = str(entity["Id"])
        doc.sync_token = str(entity.get("SyncToken", "0"))
        doc.cleaned = "; ".join(filter(None, [doc.cleaned, note]))
        self.events.add(doc, EventKind.LINKED, message=note)

    def _clear_op(self, doc: SyncDocument) -> None:
        doc.op_kind = doc.op_body = doc.op_hash = doc.op_facts = doc.op_include = None
        doc.op_request_id = doc.op_batch_id = doc.op_bid = doc.op_single = None
        doc.op_run_id = None

    def _settle(self, doc: SyncDocument, status: RecordStatus) -> None:
        doc.status = status
        doc.dirty = False
        doc.error_code = doc.error_message = doc.error_detail = doc.error_element = None
        doc.intuit_tid = doc.explanation = doc.error_request_id = doc.root_cause = None
        doc.last_run_id = self.run_id
        doc.updated_at = utcnow()

    def synced(self, doc: SyncDocument) -> None:
        """Nothing to write: what QuickBooks holds is what the CRM says."""
        if doc.status is not RecordStatus.SYNCED or doc.explanation:
            self._settle(doc, RecordStatus.SYNCED)

    def refused(self, doc: SyncDocument, error: QBORequestError, why: str | None = None) -> None:
        """QuickBooks answered with a refusal: the operation is over, the document FAILED."""
        self.events.resent(doc)
        op, request_id = doc.op_kind, error.request_id or doc.op_request_id
        self._clear_op(doc)
        self._fail(doc, error, why or explain(error), request_id)
        self.events.add(
            doc,
            EventKind.FAILED,
            op=op,
            request_id=request_id,
            message=_told(doc.explanation, error),
            error_code=error.code,
            intuit_tid=error.intuit_tid,
        )

    def unanswered(self, doc: SyncDocument, error: QBORequestError) -> None:
        """No answer came: the operation stays journaled and is resent first next time."""
        self.events.resent(doc)
        self._fail(doc, error, explain(error), doc.op_request_id)
        self.events.add(
            doc,
            EventKind.UNANSWERED,
            op=doc.op_kind,
            request_id=doc.op_request_id,
            message=_told(doc.explanation, error),
            error_code=error.code,
            intuit_tid=error.intuit_tid,
        )

    def not_sent(self, doc: SyncDocument, why: str, code: str | None = None) -> None:
        """Refused before sending (cannot be expressed, closed period): plain words only."""
        again = (
            doc.status is RecordStatus.FAILED and doc.explanation == why and doc.error_code == code
        )
        doc.status = RecordStatus.FAILED
        doc.error_code = code
        doc.error_message = doc.error_detail = doc.error_element = doc.intuit_tid = None
        doc.error_request_id = None
        doc.explanation = doc.root_cause = why
        doc.last_run_id = self.run_id
        if not again:  # refused for the same reason as last time: nothing new to tell
            self.events.add(doc, EventKind.FAILED, message=why, error_code=code)

    def _fail(
        self, doc: SyncDocument, error: QBORequestError, why: str, request_id: str | None
    ) -> None:
        doc.status = RecordStatus.FAILED
        doc.error_request_id = request_id
        doc.error_code = error.code
        doc.error_message = str(error)[:2000]
        doc.error_detail = error.detail[:2000] if error.detail else None
        doc.error_element = error.element[:200] if error.element else None
        doc.intuit_tid = error.intuit_tid
        doc.explanation = doc.root_cause = why
        doc.last_run_id = self.run_id

    def blocked(self, doc: SyncDocument, parent_label: str, parent: SyncDocument | None) -> None:
        """The document waits for another (an invoice for its customer, a payment for its
        invoice) that is not in QuickBooks; it carries that one's root cause."""
        cause = None if parent is None else parent.root_cause or parent.explanation
        why = blocked_by(parent_label, cause)
        again = doc.status is RecordStatus.BLOCKED and doc.explanation == why
        doc.status = RecordStatus.BLOCKED
        doc.error_code = parent.error_code if parent is not None else None
        doc.error_message = doc.error_detail = doc.error_element = doc.intuit_tid = None
        doc.explanation = why
        doc.root_cause = cause
        doc.last_run_id = self.run_id
        if not again:  # blocked again for the same reason: nothing new to tell
            self.events.add(doc, EventKind.BLOCKED, message=why, error_code=doc.error_code)
