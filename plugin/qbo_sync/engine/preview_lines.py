"""The words of a preview: one line per planned operation, as the page and CLI show them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from ..models import LIST_DOC_KINDS, OpKind
from .planner import PlannedOp

VERBS = {
    OpKind.CREATE: "create",
    OpKind.UPDATE: "update",
    OpKind.VOID: "void",
    OpKind.DELETE: "delete",
}


def verb(op: PlannedOp, close_date: date | None = None) -> str:
    d = op.desired
    if d is not None and d.error:
        return "refuse"
    when = d.txn_date if d is not None else None
    if close_date and when and when <= close_date and op.kind not in LIST_DOC_KINDS:
        return "hold"
    if op.unapply:
        return "unapply"
    if op.include:
        return "create again"
    return VERBS[op.op]


def describe(op: PlannedOp, close_date: date | None = None) -> str:
    """E.g. "void Payment for receipt R12 (deleted in the CRM)"."""
    d = op.desired
    why = d.error if d is not None and d.error else op.reason
    return f"{verb(op, close_date)} {op.kind.entity} for {op.label} ({why})"


def summary(ops: Sequence[PlannedOp], close_date: date | None = None) -> str:
    counts = Counter(verb(op, close_date) for op in ops)
    if not counts:
        return "Nothing to do: QuickBooks holds what the CRM says."
    return ", ".join(f"{n} to {v}" for v, n in sorted(counts.items()))
