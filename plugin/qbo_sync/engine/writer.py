"""Sends a phase's writes: batches of independent items, single calls for the rest.

Every write follows RecordBook's protocol: request ids committed before the call, results
committed after. Records still holding a request id from an unanswered earlier attempt are
resent with that same id (alone or in their original batch), so QuickBooks replays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..client import BatchItem, QBOClient
from ..errors import QBORequestError, ReconnectNeeded
from ..mapping import batch_request_id
from ..models import SyncRecord
from .records import RecordBook


@dataclass
class Op:
    """One write for one record: create or (sparse) update of `entity` with `body`."""

    rec: SyncRecord
    entity: str
    body: dict[str, Any]
    payload_hash: str | None
    operation: str = "create"  # create | update
    outcome: str = "created"  # the phase count a success adds to: created | updated
    result: dict[str, Any] | None = None
    error: QBORequestError | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bid(self) -> str:
        return self.rec.local_id[-10:]


class Writer:
    def __init__(
        self, session: Session, book: RecordBook, client: QBOClient, batch_size: int
    ) -> None:
        self.session = session
        self.book = book
        self.client = client
        self.batch_size = batch_size

    def run(self, ops: Sequence[Op]) -> None:
        """Send all ops; each ends with `result` (success) or `error` (QuickBooks' refusal).

        Successes and refusals are recorded on the records by the caller's settle step
        (`settle`), so a phase can turn some refusals (6240, 6140, 5010) into a second try.
        """
        groups: list[list[Op]] = []
        resumed: dict[str, list[Op]] = {}
        fresh: list[Op] = []
        for op in ops:
            rid = op.rec.request_id
            if rid and rid.startswith("b"):
                resumed.setdefault(rid, []).append(op)
            else:
                fresh.append(op)
        groups.extend(resumed.values())
        singles = [op for op in fresh if op.rec.request_id]  # resumed single writes
        pending = [op for op in fresh if not op.rec.request_id]
        groups.extend([op] for op in singles)
        for start in range(0, len(pending), self.batch_size):
            groups.append(list(pending[start : start + self.batch_size]))
        for group in groups:
            self._send(group)

    def _send(self, group: list[Op]) -> None:
        """Send one group: as a batch when it has several writes or resends an unanswered batch.

        A resent batch keeps its request id even when only some of its members are at hand, so
        QuickBooks replays the batch's reply (members not in the group are settled in theirs).
        """
        existing = group[0].rec.request_id
        resent_batch = bool(existing and existing.startswith("b"))
        for op in group:
            self.book.begin(op.rec)  # a fresh record gets a new version, a resent one not
        batch_rid: str | None = None
        if resent_batch:
            batch_rid = existing
        elif len(group) > 1:
            members = [(op.rec.local_id, op.rec.payload_version) for op in group]
            batch_rid = batch_request_id(self.book.profile_id, group[0].rec.kind, members)
            for op in group:
                op.rec.request_id = batch_rid
        self.session.commit()  # the request ids are durable before QuickBooks sees them
        try:
            if batch_rid is None:
                self._single(group[0])
            else:
                self._batch(group, batch_rid)
        except ReconnectNeeded:
            raise
        except QBORequestError as exc:  # the request as a whole failed; ids are kept
            for op in group:
                op.error = exc

    def _single(self, op: Op) -> None:
        rid = str(op.rec.request_id)
        try:
            if op.operation == "update":
                op.result = self.client.update(op.entity, op.body, rid)
            else:
                op.result = self.client.create(op.entity, op.body, rid)
        except ReconnectNeeded:
            raise
        except QBORequestError as exc:
            if exc.retryable:
                raise
            op.error = exc

    def _batch(self, group: list[Op], rid: str) -> None:
        items = [
            BatchItem(bId=op.bid, entity=op.entity, operation=op.operation, body=op.body)
            for op in group
        ]
        by_bid = {op.bid: op for op in group}
        for res in self.client.batch(items, rid):
            op = by_bid.get(res.bId)
            if op is None:  # an item of the original batch that is not in this group
                continue
            op.result, op.error = res.entity, res.error
        for op in group:
            if op.result is None and op.error is None:
                op.error = QBORequestError(
                    "QuickBooks' batch reply did not mention this record", request_id=rid
                )

    def settle(
        self, ops: Sequence[Op], counts: dict[str, int], qbo_type: str | None = None
    ) -> None:
        """Record each op's outcome on its record and in the phase counts, then commit."""
        if not ops:
            return
        for op in ops:
            if op.result is not None:
                self.book.succeeded(op.rec, op.result, op.payload_hash, qbo_type or op.entity)
                counts[op.outcome] += 1
            elif op.error is not None:
                self.book.refused(op.rec, op.error)
                counts["failed"] += 1
        self.session.commit()
