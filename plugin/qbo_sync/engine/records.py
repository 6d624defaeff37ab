"""The per-record sync state of a run, and the exactly-once write protocol around it.

Before a write, each record is marked IN_FLIGHT with a deterministic request id, committed.
After QuickBooks answers, its Id and SyncToken (or its refusal) are committed. A record that
still holds a request id was sent and never answered; it is resent with the same id, so
QuickBooks replays its first answer instead of writing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import QBORequestError
from ..mapping import request_id
from ..models import RecordStatus, SyncRecord
from .explain import blocked_by, explain


class RecordBook:
    """Loads, creates and updates the SyncRecords of one profile in one company."""

    def __init__(self, session: Session, profile_id: int, realm_id: str, run_id: int) -> None:
        self.session = session
        self.profile_id = profile_id
        self.realm_id = realm_id
        self.run_id = run_id

    def _query(self, kind: str) -> sa.Select[tuple[SyncRecord]]:
        return sa.select(SyncRecord).where(
            SyncRecord.profile_id == self.profile_id,
            SyncRecord.realm_id == self.realm_id,
            SyncRecord.kind == kind,
        )

    def load(self, kind: str, local_ids: Iterable[str]) -> dict[str, SyncRecord]:
        ids = sorted(set(local_ids))
        found: dict[str, SyncRecord] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for rec in self.session.scalars(self._query(kind).where(SyncRecord.local_id.in_(part))):
                found[rec.local_id] = rec
        return found

    def get_or_new(self, found: dict[str, SyncRecord], kind: str, local_id: str) -> SyncRecord:
        rec = found.get(local_id)
        if rec is None:
            rec = SyncRecord(
                profile_id=self.profile_id,
                realm_id=self.realm_id,
                kind=kind,
                local_id=local_id,
                status=RecordStatus.PENDING,
                payload_version=0,
                attempts=0,
                dirty=False,
                deleted=False,
            )
            self.session.add(rec)
            found[local_id] = rec
        return rec

    def forget(self, *maps: dict[str, SyncRecord]) -> None:
        """Let go of a finished chunk's records, so memory stays flat over long runs."""
        for found in maps:
            for rec in found.values():
                if rec in self.session:
                    self.session.expunge(rec)

    def deleted(self, kind: str) -> list[SyncRecord]:
        """Pushed records whose CRM row is gone and whose twin is not yet voided."""
        return list(
            self.session.scalars(
                self._query(kind)
                .where(
                    SyncRecord.deleted.is_(True),
                    SyncRecord.qbo_id.is_not(None),
                    SyncRecord.qbo_type != "voided",
                )
                .order_by(SyncRecord.id)
            )
        )

    # -- the write protocol ------------------------------------------------------------------

    def begin(self, rec: SyncRecord) -> str:
        """Mark a record in flight and return the request id to send (reused after a crash)."""
        if not rec.request_id:
            rec.payload_version = (rec.payload_version or 0) + 1
            rec.request_id = request_id(
                self.profile_id, rec.kind, rec.local_id, rec.payload_version
            )
            rec.attempts = (rec.attempts or 0) + 1
        rec.status = RecordStatus.IN_FLIGHT
        rec.last_run_id = self.run_id
        return rec.request_id

    def succeeded(
        self,
        rec: SyncRecord,
        entity: dict[str, Any],
        payload_hash: str | None,
        qbo_type: str | None = None,
    ) -> None:
        rec.qbo_id = str(entity.get("Id", rec.qbo_id))
        rec.sync_token = str(entity.get("SyncToken", rec.sync_token or "0"))
        if qbo_type:
            rec.qbo_type = qbo_type
        rec.payload_hash = payload_hash
        self._settle(rec, RecordStatus.SYNCED)

    def voided(self, rec: SyncRecord) -> None:
        rec.qbo_type = "voided"
        rec.payload_hash = None
        self._settle(rec, RecordStatus.SYNCED)

    def _settle(self, rec: SyncRecord, status: RecordStatus) -> None:
        rec.status = status
        rec.request_id = None
        rec.dirty = False
        rec.error_code = rec.error_message = rec.error_detail = rec.error_element = None
        rec.intuit_tid = rec.explanation = rec.error_request_id = rec.root_cause = None
        rec.last_run_id = self.run_id

    def failed(
        self, rec: SyncRecord, error: QBORequestError | None, explanation: str, *, answered: bool
    ) -> None:
        """QuickBooks refused (answered=True: a new request id next time) or never answered."""
        rec.status = RecordStatus.FAILED
        rec.error_request_id = (error.request_id if error else None) or rec.request_id
        if answered:
            rec.request_id = None
        rec.error_code = error.code if error else None
        rec.error_message = str(error)[:2000] if error else None
        rec.error_detail = error.detail[:2000] if error and error.detail else None
        rec.error_element = error.element[:200] if error and error.element else None
        rec.intuit_tid = error.intuit_tid if error else None
        rec.explanation = rec.root_cause = explanation
        rec.last_run_id = self.run_id

    def refused(self, rec: SyncRecord, error: QBORequestError) -> None:
        self.failed(rec, error, explain(error), answered=not error.retryable)

    def blocked(
        self, rec: SyncRecord, parent_kind: str, parent_label: str, parent: SyncRecord | None
    ) -> None:
        """The record waits for its parent (a sale for its customer, a receipt for its sale)."""
        cause = None if parent is None else parent.root_cause or parent.explanation
        rec.status = RecordStatus.BLOCKED
        rec.error_code = parent.error_code if parent is not None else None
        rec.error_message = rec.error_detail = rec.error_element = rec.intuit_tid = None
        rec.explanation = blocked_by(parent_kind, parent_label, cause)
        rec.root_cause = cause
        rec.last_run_id = self.run_id
