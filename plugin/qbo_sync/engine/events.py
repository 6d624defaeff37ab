"""The record timeline's events of one run, as the journal tells them: kept in memory until
the journal's commit makes the changes they describe durable, then inserted by that commit in
one statement, in its transaction (an event of a change rolled back is dropped with it)."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import EventKind, OpKind, SyncDocument, SyncEvent, utcnow


class RunEvents:
    """The events of one run of one company not committed yet."""

    def __init__(self, company_id: int, run_id: int) -> None:
        self.company_id = company_id
        self.run_id = run_id
        self._pending: list[tuple[SyncDocument, dict[str, Any]]] = []
        self._resending: set[int] = set()  # documents whose operation this run sends again
        self.muted = False  # a preview's: nothing is kept

    def resending(self, docs: list[SyncDocument]) -> None:
        """These documents' journaled operations are sent again by this run."""
        self._resending.update(doc.id for doc in docs)

    def resent(self, doc: SyncDocument) -> None:
        """Before the settlement of a resent operation: the resend itself, as journaled."""
        if doc.id is None or doc.id not in self._resending:
            return
        self._resending.discard(doc.id)
        self.add(
            doc, EventKind.RESENT, op=doc.op_kind, request_id=doc.op_request_id, body=doc.op_body
        )

    def add(
        self,
        doc: SyncDocument,
        event: EventKind,
        *,
        op: OpKind | None = None,
        request_id: str | None = None,
        message: str | None = None,
        body: str | None = None,
        error_code: str | None = None,
        intuit_tid: str | None = None,
    ) -> None:
        """Keep one event for the next commit (no query): it commits with the change it tells."""
        if self.muted:
            return
        self._pending.append(
            (
                doc,
                {
                    "company_id": self.company_id,
                    "run_id": self.run_id,
                    "kind": doc.kind,
                    "local_id": doc.local_id,
                    "sale_id": doc.sale_id,
                    "event": event,
                    "op": op,
                    "request_id": request_id,
                    "intuit_tid": intuit_tid,
                    "qbo_id": doc.qbo_id,
                    "error_code": error_code,
                    "message": message,
                    "body": body,
                    "at": utcnow(),
                },
            )
        )

    def drop(self) -> None:
        """The changes they tell were rolled back."""
        self._pending.clear()

    def insert(self, session: Session) -> None:
        """Insert the kept events in the session's transaction (its documents flushed, so each
        has its id); the caller commits."""
        if not self._pending:
            return
        rows = [{**cols, "document_id": doc.id} for doc, cols in self._pending]
        self._pending.clear()
        session.execute(sa.insert(cast(sa.Table, SyncEvent.__table__)), rows)
