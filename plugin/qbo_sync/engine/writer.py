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


@dataclass(frozen=True)
class Sent:
    """The journaled operation exactly as it goes out, copied at journaling time: after the
    commit the document's row may belong to a newer run, which must not change what we send."""

    operation: str
    body: str
    request_id: str
    include: str | None
    batch_id: str | None
    bid: str | None

    @classmethod
    def of(cls, doc: SyncDocument) -> Sent:
        return cls(
            str(doc.op_kind),
            str(doc.op_body),
            str(doc.op_request_id),
            doc.op_include,
            doc.op_batch_id,
            doc.op_bid,
        )


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
    sent: Sent | None = None

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
        for w in works:
            w.sent = Sent.of(w.doc)
        self.journal.commit()  # durable before QuickBooks sees any of it
        for group in groups:
            self.journal.check_fence()  # a newer run took the company: send nothing more
            self._send_group(group)

    def resend(self, docs: Sequence[SyncDocument]) -> list[Work]:
        """Resend what was journaled and never answered, exactly as it was (batches whole)."""
        works = [
            Work(
                d, OpKind(str(d.op_kind)), {}, d.op_hash, d.op_facts, d.op_include, sent=Sent.of(d)
            )
            for d in docs
        ]
        batches: dict[str, list[Work]] = {}
        for w in works:
            assert w.sent is not None
            if w.sent.batch_id:
                batches.setdefault(w.sent.batch_id, []).append(w)
            else:
                self.journal.check_fence()
                self._send_group([w])
        for group in batches.values():
            group.sort(key=lambda w: int((w.sent.bid if w.sent else None) or 0))
            self.journal.check_fence()
            self._send_group(group)
        return works

    def _groups(self, works: Sequence[Work]) -> list[list[Work]]:
        batchable = [w for w in works if w.op in BATCHABLE and not w.include]
        groups = [[w] for w in works if not (w.op in BATCHABLE and not w.include)]
        for start in range(0, len(batchable), self.batch_size):
            groups.append(list(batchable[start : start + self.batch_size]))
        return groups

    def _send_group(self, group: list[Work]) -> None:
        batch_id = _sent(group[0]).batch_id
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
        sent = _sent(w)
        w.result = self.client.send(
            sent.operation, w.entity, sent.body, sent.request_id, sent.include
        )

    def _batch(self, group: list[Work], rid: str) -> None:
        items = [
            BatchItem(
                bId=str(_sent(w).bid),
                entity=w.entity,
                operation=_sent(w).operation,
                body=encoding.loads(_sent(w).body),
            )
            for w in group
        ]
        by_bid = {str(_sent(w).bid): w for w in group}
        for res in self.client.batch(items, rid):
            w = by_bid.get(res.bId)
            if w is not None:
                w.result, w.error = res.entity, res.error
        for w in group:
            if w.result is None and w.error is None:
                w.error = QBORequestError(
                    "QuickBooks' batch reply did not mention this document", request_id=rid
                )


def _sent(w: Work) -> Sent:
    if w.sent is None:
        raise ValueError(f"{w.label or w.doc.local_id}: sent before it was journaled")
    return w.sent
