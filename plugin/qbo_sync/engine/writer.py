"""Sends journaled operations: batches of up to `batch_size` creates, updates and deletes,
single requests for voids and flagged creates. Every operation is journaled (committed under
the run's fence) before QuickBooks sees it; a resent one goes exactly as it was journaled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client import BatchItem, QBOClient, encoding
from ..errors import QBORequestError, ReconnectNeeded
from ..mapping import batch_request_id
from ..models import OpKind, SyncDocument
from .journal import Journal

BATCHABLE = (OpKind.CREATE, OpKind.UPDATE, OpKind.DELETE)


@dataclass
class Work:
    """One operation on one document, with its outcome once sent."""

    doc: SyncDocument
    op: OpKind
    body: dict[str, Any]
    op_hash: str | None
    facts: dict[str, Any] | None
    include: str | None = None
    label: str = ""
    result: dict[str, Any] | None = None
    error: QBORequestError | None = None
    answered: bool = True  # False: no answer came; the operation stays journaled
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def entity(self) -> str:
        return self.doc.kind.entity


class Writer:
    def __init__(self, journal: Journal, client: QBOClient, batch_size: int) -> None:
        self.journal = journal
        self.client = client
        self.batch_size = batch_size

    def send(self, works: Sequence[Work]) -> None:
        """Journal every operation, commit, then send them; outcomes land on the works."""
        if not works:
            return
        for w in works:
            self.journal.begin(w.doc, w.op, encoding.dumps(w.body), w.op_hash, w.facts, w.include)
        groups = self._groups(works)
        for group in groups:
            if len(group) > 1:
                rid = batch_request_id(
                    self.journal.realm_id, [str(w.doc.op_request_id) for w in group]
                )
                for n, w in enumerate(group):
                    w.doc.op_batch_id, w.doc.op_bid = rid, str(n)
        self.journal.commit()  # durable before QuickBooks sees any of it
        for group in groups:
            self._send_group(group)

    def resend(self, docs: Sequence[SyncDocument]) -> list[Work]:
        """Resend what was journaled and never answered, exactly as it was (batches whole)."""
        works = [
            Work(d, OpKind(str(d.op_kind)), {}, d.op_hash, d.op_facts, d.op_include) for d in docs
        ]
        batches: dict[str, list[Work]] = {}
        for w in works:
            if w.doc.op_batch_id:
                batches.setdefault(w.doc.op_batch_id, []).append(w)
            else:
                self._send_group([w])
        for group in batches.values():
            group.sort(key=lambda w: int(w.doc.op_bid or 0))
            self._send_group(group)
        return works

    def _groups(self, works: Sequence[Work]) -> list[list[Work]]:
        batchable = [w for w in works if w.op in BATCHABLE and not w.include]
        groups = [[w] for w in works if not (w.op in BATCHABLE and not w.include)]
        for start in range(0, len(batchable), self.batch_size):
            groups.append(list(batchable[start : start + self.batch_size]))
        return groups

    def _send_group(self, group: list[Work]) -> None:
        batch_id = group[0].doc.op_batch_id
        try:
            if batch_id:
                self._batch(group, batch_id)
            else:
                self._single(group[0])
        except ReconnectNeeded:
            raise
        except QBORequestError as exc:  # the request as a whole: retryable means unanswered
            for w in group:
                w.error, w.answered = exc, not exc.retryable

    def _single(self, w: Work) -> None:
        doc = w.doc
        w.result = self.client.send(
            str(doc.op_kind), w.entity, str(doc.op_body), str(doc.op_request_id), doc.op_include
        )

    def _batch(self, group: list[Work], rid: str) -> None:
        items = [
            BatchItem(
                bId=str(w.doc.op_bid),
                entity=w.entity,
                operation=str(w.doc.op_kind),
                body=encoding.loads(str(w.doc.op_body)),
            )
            for w in group
        ]
        by_bid = {str(w.doc.op_bid): w for w in group}
        for res in self.client.batch(items, rid):
            w = by_bid.get(res.bId)
            if w is not None:
                w.result, w.error = res.entity, res.error
        for w in group:
            if w.result is None and w.error is None:
                w.error = QBORequestError(
                    "QuickBooks' batch reply did not mention this document", request_id=rid
                )
