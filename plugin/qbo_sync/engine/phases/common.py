"""What every phase shares: sending its writes with one follow-up try for certain refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from ...errors import QBORequestError, ReconnectNeeded, StaleObjectError
from ...models import SyncRecord
from ..context import RunContext
from ..writer import Op

T = TypeVar("T")

FollowUp = Callable[[RunContext, Op], Op | None]
Prefetch = Callable[[RunContext, list[Op]], None]


def run_ops(
    ctx: RunContext,
    ops: Sequence[Op],
    counts: dict[str, int],
    follow_up: FollowUp,
    qbo_type: str,
    prefetch: Prefetch | None = None,
) -> None:
    """Send ops, give refused ones their one follow-up, and settle everything.

    `prefetch` sees all refused ops first, so the follow-ups' reads are one query, not one each.
    """
    ctx.writer.run(ops)
    ctx.heartbeat()
    if prefetch is not None:
        prefetch(ctx, [op for op in ops if op.error is not None and not op.error.retryable])
    retries: list[Op] = []
    done: list[Op] = []
    for op in ops:
        again = follow_up(ctx, op) if op.error is not None and not op.error.retryable else None
        if again is not None:
            op.rec.request_id = None  # QuickBooks answered; the retry is a new request
            retries.append(again)
        else:
            done.append(op)
    ctx.writer.settle(done, counts, qbo_type)
    if retries:
        ctx.writer.run(retries)
        ctx.writer.settle(retries, counts, qbo_type)


def stale_retry(ctx: RunContext, op: Op) -> Op | None:
    """On 5010 (stale SyncToken), read the current token and try the update once more."""
    if op.error is None or op.error.code != "5010" or op.operation != "update":
        return None
    if op.extra.get("retried"):
        return None
    current = ctx.client.read(op.entity, str(op.rec.qbo_id))
    body = {**op.body, "SyncToken": str(current.get("SyncToken", "0"))}
    return Op(
        op.rec,
        op.entity,
        body,
        op.payload_hash,
        operation="update",
        outcome=op.outcome,
        extra={**op.extra, "retried": True},
    )


def void(ctx: RunContext, rec: SyncRecord, entity: str) -> bool:
    """Void a transaction (delete, for a CreditMemo); True when it is gone from the books.

    A stale SyncToken (5010) is re-read and the void tried once more, under a new request id.
    """
    for attempt in (1, 2):
        rid = ctx.book.begin(rec)
        ctx.session.commit()
        try:
            if entity == "CreditMemo":
                ctx.client.delete(entity, str(rec.qbo_id), str(rec.sync_token), rid)
            else:
                ctx.client.void(entity, str(rec.qbo_id), str(rec.sync_token), rid)
        except StaleObjectError as exc:
            rec.request_id = None
            if attempt == 2:
                ctx.book.refused(rec, exc)
                ctx.session.commit()
                return False
            rec.sync_token = str(ctx.client.read(entity, str(rec.qbo_id)).get("SyncToken", "0"))
            continue
        except ReconnectNeeded:
            raise
        except QBORequestError as exc:
            ctx.book.refused(rec, exc)
            ctx.session.commit()
            return False
        ctx.book.voided(rec)
        ctx.session.commit()
        return True
    return False


def batched(items: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
