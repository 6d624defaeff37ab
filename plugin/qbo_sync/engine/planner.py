"""The plan (pure): what to do so that QuickBooks holds the desired documents.

`plan_sale_docs` compares desired documents with recorded ones and returns ordered operations
that respect QuickBooks' rules: payments and credits are reduced, unapplied or voided (stage
UNWIND) before their invoice shrinks, changes customer or is voided (stage INVOICES); payments
and credit memos follow their invoice (PAYMENTS), credit applications their memo (CREDITS).
A kind change is the old document voided and the new one created. A restored sale gets a new
invoice under its old number (QuickBooks keeps the voided one, which still holds the number).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any, Protocol

from ..mapping import payload_hash
from ..models import DocKind, OpKind
from .desired import Desired, Ref

ACCOUNT_KEYS = ("ARAccountRef", "DepositToAccountRef", "IncomeAccountRef")
ALLOW_DUPLICATE_NUMBER = "allowduplicatedocnum"


class Stage(IntEnum):
    LISTS = 1  # customers, items, payment methods
    UNWIND = 2  # payments and credit applications reduced, unapplied or voided
    INVOICES = 3  # invoices created, updated or voided; credit memos deleted
    PAYMENTS = 4  # payments and credit memos created or updated
    CREDITS = 5  # credit applications created or updated


class Recorded(Protocol):
    """What the planner reads of a recorded document (a SyncDocument)."""

    qbo_id: str | None
    live: bool
    payload_hash: str | None
    facts: dict[str, Any] | None


class Unresolved(Exception):
    """A reference to a document that does not exist (yet) in QuickBooks."""

    def __init__(self, ref: Ref) -> None:
        super().__init__(str(ref))
        self.ref = ref


Resolver = Callable[[Ref], str | None]


@dataclass
class PlannedOp:
    stage: Stage
    op: OpKind
    kind: DocKind
    local_id: str
    desired: Desired | None
    reason: str
    unapply: bool = False  # an update that only takes the payment off its invoice
    include: str | None = None

    @property
    def key(self) -> tuple[DocKind, str]:
        return (self.kind, self.local_id)

    @property
    def label(self) -> str:
        if self.desired is not None:
            return self.desired.label
        return f"{self.kind.value} {self.local_id}"


def resolve(value: Any, ids: Resolver) -> Any:
    """`value` with every Ref replaced by its QuickBooks Id; Unresolved when one has none."""
    if isinstance(value, Ref):
        found = ids(value)
        if not found:
            raise Unresolved(value)
        return found
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def content_hash(body: Mapping[str, Any]) -> str:
    """The hash compared between runs: the body without the accounts, which apply only to
    documents written after they were chosen, never to history."""
    return payload_hash({k: v for k, v in body.items() if k not in ACCOUNT_KEYS})


def recorded_facts(facts: Mapping[str, Any], ids: Resolver) -> dict[str, Any]:
    """Facts as they are kept on a document: Refs as Ids, amounts as strings."""
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if isinstance(value, Ref):
            out[key] = ids(value)
        elif isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, list | tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


def _changed(d: Desired, rec: Recorded, ids: Resolver) -> bool:
    try:
        body = resolve(d.body, ids)
    except Unresolved:
        return True
    return content_hash(body) != rec.payload_hash


def _fact(rec: Recorded, name: str) -> Any:
    return (rec.facts or {}).get(name)


def _ref_id(d: Desired, name: str, ids: Resolver) -> str | None:
    value = d.facts.get(name)
    return ids(value) if isinstance(value, Ref) else None


def _applied(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal("0.00")


def _plan_list(d: Desired | None, rec: Recorded | None, ids: Resolver) -> list[PlannedOp]:
    if d is None:
        return []  # customers and list entries are never removed from QuickBooks
    if rec is None or not rec.qbo_id:
        return [PlannedOp(Stage.LISTS, OpKind.CREATE, d.kind, d.local_id, d, "new")]
    if _changed(d, rec, ids):
        return [PlannedOp(Stage.LISTS, OpKind.UPDATE, d.kind, d.local_id, d, "changed in the CRM")]
    return []


def _plan_invoice(
    key: tuple[DocKind, str], d: Desired | None, rec: Recorded | None, ids: Resolver, gone: str
) -> list[PlannedOp]:
    kind, local_id = key
    live = rec is not None and rec.live
    if d is None:
        return [PlannedOp(Stage.INVOICES, OpKind.VOID, kind, local_id, None, gone)] if live else []
    if not live:
        include = ALLOW_DUPLICATE_NUMBER if rec is not None and rec.qbo_id else None
        reason = "restored in the CRM" if include else "new"
        return [PlannedOp(Stage.INVOICES, OpKind.CREATE, kind, local_id, d, reason, False, include)]
    assert rec is not None
    if _changed(d, rec, ids):
        return [PlannedOp(Stage.INVOICES, OpKind.UPDATE, kind, local_id, d, "changed in the CRM")]
    return []


def _plan_memo(
    key: tuple[DocKind, str], d: Desired | None, rec: Recorded | None, ids: Resolver, gone: str
) -> list[PlannedOp]:
    kind, local_id = key
    live = rec is not None and rec.live
    if d is None:
        return (
            [PlannedOp(Stage.INVOICES, OpKind.DELETE, kind, local_id, None, gone)] if live else []
        )
    if not live:
        return [PlannedOp(Stage.PAYMENTS, OpKind.CREATE, kind, local_id, d, "new")]
    assert rec is not None
    if _changed(d, rec, ids):
        return [PlannedOp(Stage.PAYMENTS, OpKind.UPDATE, kind, local_id, d, "changed in the CRM")]
    return []


def _plan_payment(
    key: tuple[DocKind, str], d: Desired | None, rec: Recorded | None, ids: Resolver, gone: str
) -> list[PlannedOp]:
    """Payments and credit applications: what is taken off an invoice goes first."""
    kind, local_id = key
    live = rec is not None and rec.live
    later = Stage.CREDITS if kind is DocKind.CREDIT_APPLICATION else Stage.PAYMENTS
    if d is None:
        return [PlannedOp(Stage.UNWIND, OpKind.VOID, kind, local_id, None, gone)] if live else []
    if not live:
        return [PlannedOp(later, OpKind.CREATE, kind, local_id, d, "new")]
    assert rec is not None
    if not _changed(d, rec, ids):
        return []
    customer = _ref_id(d, "customer", ids)
    if customer is None or customer != _fact(rec, "customer"):
        return [
            PlannedOp(Stage.UNWIND, OpKind.VOID, kind, local_id, None, "moved to another customer"),
            PlannedOp(later, OpKind.CREATE, kind, local_id, d, "moved to another customer"),
        ]
    invoice = _ref_id(d, "invoice", ids)
    old_applied = _applied(_fact(rec, "applied"))
    linked = _fact(rec, "invoice")
    if invoice != linked and old_applied > 0:
        if kind is DocKind.CREDIT_APPLICATION:
            return [
                PlannedOp(Stage.UNWIND, OpKind.VOID, kind, local_id, None, "moved to another sale"),
                PlannedOp(later, OpKind.CREATE, kind, local_id, d, "moved to another sale"),
            ]
        return [
            PlannedOp(
                Stage.UNWIND, OpKind.UPDATE, kind, local_id, d, "moved to another sale", True
            ),
            PlannedOp(later, OpKind.UPDATE, kind, local_id, d, "moved to another sale"),
        ]
    if _applied(d.facts.get("applied")) < old_applied:
        return [PlannedOp(Stage.UNWIND, OpKind.UPDATE, kind, local_id, d, "applies less now")]
    return [PlannedOp(later, OpKind.UPDATE, kind, local_id, d, "changed in the CRM")]


PLANNERS = {
    DocKind.INVOICE: _plan_invoice,
    DocKind.CREDIT_MEMO: _plan_memo,
    DocKind.PAYMENT: _plan_payment,
    DocKind.CREDIT_APPLICATION: _plan_payment,
}


def plan_lists(
    desired: Iterable[Desired], recorded: Mapping[tuple[DocKind, str], Recorded], ids: Resolver
) -> list[PlannedOp]:
    """Customers, items and payment methods: created when missing, updated when changed."""
    ops: list[PlannedOp] = []
    for d in desired:
        ops.extend(_plan_list(d, recorded.get(d.key), ids))
    return ops


def plan_sale_docs(
    desired: Mapping[tuple[DocKind, str], Desired],
    recorded: Mapping[tuple[DocKind, str], Recorded],
    ids: Resolver,
    gone: Mapping[tuple[DocKind, str], str],
) -> list[PlannedOp]:
    """The operations for one chunk of sales, in stage order (stable within a stage).

    `desired` and `recorded` hold the chunk's transactions; `gone` says, for a recorded
    document that is no longer desired, why (cancelled, deleted, moved out of the company).
    """
    ops: list[PlannedOp] = []
    for key in sorted(set(desired) | set(recorded), key=_order):
        kind = key[0]
        planner = PLANNERS.get(kind)
        if planner is None:
            continue
        reason = gone.get(key, "no longer in the CRM")
        ops.extend(planner(key, desired.get(key), recorded.get(key), ids, reason))
    ops.sort(key=lambda op: op.stage)
    return ops


def _order(key: tuple[DocKind, str]) -> tuple[int, int, str]:
    kind, local_id = key
    rank = list(PLANNERS).index(kind) if kind in PLANNERS else 9
    return (rank, int(local_id) if local_id.isdigit() else 0, local_id)
