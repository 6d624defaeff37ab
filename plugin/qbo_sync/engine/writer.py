"""Sends journaled operations, several requests in flight at once.

Every operation is journaled (committed under the run's fence) before QuickBooks sees it; a
resent one goes exactly as it was journaled. Voids and flagged creates go as single requests.
Creates, updates and deletes are grouped when they are sent: up to `batch_size` of them into a
batch while the company's batch window has room (its id and each item's bId committed before
it goes), one by one as single requests while it has not, so the requests QuickBooks allows
beyond its 40 batches a minute are spent too. `lanes` requests are in flight at once (the
budget keeps every worker of the company within QuickBooks' limits together); the sending
threads touch only the copies made at journaling time, never the database session, and the
run's thread beats its heartbeat while they are out. With one lane everything is sent in
turn on the run's own thread, batches first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from ..client import BatchItem, QBOClient, encoding
from ..errors import QBORequestError, ReconnectNeeded
from ..mapping import batch_request_id
from ..models import OpKind, SyncDocument
from .journal import Journal

BATCHABLE = (OpKind.CREATE, OpKind.UPDATE, OpKind.DELETE)
BEAT = 1.0  # seconds between the run's signs of life while requests are out


@dataclass(frozen=True)
class Sent:
    """The journaled operation exactly as it goes out, copied at journaling time: after the
    commit the document's row may belong to a newer run, which must not change what we send."""

    operation: str
    entity: str
    body: str
    request_id: str
    include: str | None
    batch_id: str | None
    bid: str | None
    single: bool  # journaled as sent alone (with no batch id either: not sent yet)

    @classmethod
    def of(cls, doc: SyncDocument) -> Sent:
        return cls(
            str(doc.op_kind),
            doc.kind.entity,
            str(doc.op_body),
            str(doc.op_request_id),
            doc.op_include,
            doc.op_batch_id,
            doc.op_bid,
            bool(doc.op_single),
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

    @property
    def batchable(self) -> bool:
        return self.op in BATCHABLE and not self.include


class Writer:
    def __init__(
        self, journal: Journal, client: QBOClient, batch_size: int, lanes: int = 1
    ) -> None:
        self.journal = journal
        self.client = client
        self.batch_size = batch_size
        self.lanes = max(1, lanes)
        self._latency = 0.5  # seconds a request takes, as lately seen (for the batch choice)
        self._lock = threading.Lock()

    def send(self, works: Sequence[Work]) -> None:
        """Journal every operation, commit, then send them; outcomes land on the works."""
        if not works:
            return
        for w in works:
            self.journal.begin(w.doc, w.op, encoding.dumps(w.body), w.op_hash, w.facts, w.include)
            w.doc.op_single = not w.batchable or None  # voids and flagged creates go alone
            w.sent = Sent.of(w.doc)
        self.journal.commit()  # durable before QuickBooks sees any of it
        self._dispatch(
            deque([w] for w in works if not w.batchable), deque(w for w in works if w.batchable)
        )

    def resend(self, docs: Sequence[SyncDocument]) -> list[Work]:
        """Resend what was journaled and never answered, exactly as it was (batches whole,
        singles alone); what was journaled but never sent is grouped as a fresh send is."""
        works = [
            Work(
                d, OpKind(str(d.op_kind)), {}, d.op_hash, d.op_facts, d.op_include, sent=Sent.of(d)
            )
            for d in docs
        ]
        groups: deque[list[Work]] = deque()
        unsent: deque[Work] = deque()
        batches: dict[str, list[Work]] = {}
        for w in works:
            sent = _sent(w)
            if sent.batch_id:
                batches.setdefault(sent.batch_id, []).append(w)
            elif sent.single:
                groups.append([w])
            else:
                unsent.append(w)
        for group in batches.values():
            group.sort(key=lambda w: int(_sent(w).bid or 0))
            groups.append(group)
        self._dispatch(groups, unsent)
        return works

    # -- dispatching -----------------------------------------------------------------------

    def _dispatch(self, fixed: deque[list[Work]], pool: deque[Work]) -> None:
        """Send `fixed` groups as they are and `pool` as batches or singles, `lanes` at once.

        The fence is checked before each request goes; the run's heartbeat beats here, on its
        own thread. A connection problem (ReconnectNeeded) or a newer run (RunSuperseded)
        stops the dispatch; what is out still lands on its works, and stays journaled."""
        if self.lanes == 1 or len(fixed) + len(pool) == 1:  # one at a time: on this thread
            while fixed or pool:
                group = fixed.popleft() if fixed else self._batch_of(pool)
                self.journal.check_fence()
                self._send_group(group)
            return
        # On an error the pool's exit waits for what is out; its outcomes land on its works.
        with ThreadPoolExecutor(self.lanes, thread_name_prefix="qbo-send") as threads:
            out: set[Future[None]] = set()
            batches: set[Future[None]] = set()  # the batches among them
            while fixed or pool or out:
                hold = 0.0
                while len(out) < self.lanes and (fixed or pool):
                    nxt, hold = self._next(fixed, pool, len(batches))
                    if nxt is None:
                        break
                    self.journal.check_fence()
                    sending = threads.submit(self._send_group, nxt, bool(pool))
                    out.add(sending)
                    if _sent(nxt[0]).batch_id:
                        batches.add(sending)
                timeout = min(BEAT, hold) if hold else BEAT
                if out:
                    done, out = wait(out, timeout=timeout, return_when=FIRST_COMPLETED)
                    batches -= done
                    for f in done:
                        f.result()
                else:
                    time.sleep(timeout)
                self.client.heartbeat()

    def _next(
        self, fixed: deque[list[Work]], pool: deque[Work], batches_out: int
    ) -> tuple[list[Work] | None, float]:
        """The next group to send, or (None, seconds) to wait for the batch window."""
        if fixed:
            return fixed.popleft(), 0.0
        if len(pool) == 1 or self.batch_size == 1:
            return self._alone(pool, 1, fixed), 0.0
        room, free = self.client.budget.room(self.client.realm_id, is_batch=True)
        if room <= 0.0 and free > batches_out:  # a batch that goes at once, not after a wait
            return self._batch_of(pool), 0.0
        room = max(room, self.client.budget.poll)
        with self._lock:
            latency = self._latency
        # Singles while the batch window is full, as long as what is left is more than the
        # batch will take, or the singles would be done before the batch could go.
        if len(pool) > self.batch_size:
            return self._alone(pool, min(2 * self.lanes, len(pool) - self.batch_size), fixed), 0.0
        if len(pool) * latency / self.lanes < room:
            return self._alone(pool, len(pool), fixed), 0.0
        return None, room

    def _alone(self, pool: deque[Work], n: int, fixed: deque[list[Work]]) -> list[Work]:
        """Journal the next `n` as single requests (one commit), queue them; the first."""
        for _ in range(n):
            w = pool.popleft()
            w.doc.op_single = True
            w.sent = replace(_sent(w), single=True)
            fixed.append([w])
        self.journal.commit()  # each goes out alone, as journaled
        return fixed.popleft()

    def _batch_of(self, pool: deque[Work]) -> list[Work]:
        if len(pool) == 1:
            return self._alone(pool, 1, deque())
        group = [pool.popleft() for _ in range(min(self.batch_size, len(pool)))]
        rid = batch_request_id(self.journal.realm_id, [_sent(w).request_id for w in group])
        for n, w in enumerate(group):
            w.doc.op_batch_id, w.doc.op_bid = rid, str(n)
            w.sent = replace(_sent(w), batch_id=rid, bid=str(n))
        self.journal.commit()  # the batch is journaled as the batch it goes out as
        return group

    # -- sending (on the sending threads: the works' copies only) ---------------------------

    def _send_group(self, group: list[Work], beside_batches: bool = False) -> None:
        batch_id = _sent(group[0]).batch_id
        try:
            if batch_id:
                self._batch(group, batch_id)
            elif beside_batches:  # batch work waits: leave the batches their share of the minute
                with self.client.leaving_batch_room():
                    self._single(group[0])
            else:
                self._single(group[0])
        except ReconnectNeeded:
            raise
        except QBORequestError as exc:  # the request as a whole: retryable means unanswered
            for w in group:
                w.error, w.answered = exc, not exc.retryable
        took = self.client.qb.last_seconds
        if took is not None:
            with self._lock:
                self._latency = 0.8 * self._latency + 0.2 * took

    def _single(self, w: Work) -> None:
        sent = _sent(w)
        w.result = self.client.send(
            sent.operation, sent.entity, sent.body, sent.request_id, sent.include
        )

    def _batch(self, group: list[Work], rid: str) -> None:
        items = [
            BatchItem(
                bId=str(_sent(w).bid),
                entity=_sent(w).entity,
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
        raise ValueError(f"{w.label or 'an operation'}: sent before it was journaled")
    return w.sent
