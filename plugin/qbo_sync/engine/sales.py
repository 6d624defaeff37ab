"""One chunk of sales: what the CRM says (desired), what was recorded, and the plan between.

Recorded documents of the chunk are found by sale and by receipt, so a receipt moved from
another sale, re-classified, or deleted with a plain SQL statement is seen all the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..mapping import ADJUSTMENT_ITEM_NAME
from ..models import SALE_DOC_KINDS, DocKind, SyncDocument
from ..source import ReceiptRecord, RecordKind, SaleRecord
from .context import RunContext
from .desired import Desired, Ref, sale_docs
from .planner import PlannedOp, plan_sale_docs
from .scope import CompanyScope

Key = tuple[DocKind, str]
RECEIPT_KINDS = (DocKind.PAYMENT, DocKind.CREDIT_MEMO, DocKind.CREDIT_APPLICATION)


@dataclass
class Chunk:
    sale_ids: Sequence[str]
    sales: dict[str, SaleRecord] = field(default_factory=dict)
    receipts: dict[str, list[ReceiptRecord]] = field(default_factory=dict)
    desired: dict[Key, Desired] = field(default_factory=dict)
    docs: dict[Key, SyncDocument] = field(default_factory=dict)
    gone: dict[Key, str] = field(default_factory=dict)
    ops: list[PlannedOp] = field(default_factory=list)

    def refs(self, kind: DocKind) -> set[str]:
        """Local ids of the `kind` documents the desired bodies refer to."""
        out: set[str] = set()

        def walk(value: object) -> None:
            if isinstance(value, Ref):
                if value.kind is kind:
                    out.add(value.local_id)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        for d in self.desired.values():
            walk(d.body)
        return out

    def product_names(self) -> set[str]:
        names = {line.product_name for s in self.sales.values() for line in s.lines}
        if any(r.kind == "adjustment" for rs in self.receipts.values() for r in rs):
            names.add(ADJUSTMENT_ITEM_NAME)
        return names

    def payment_methods(self) -> set[str]:
        return {
            r.payment_method
            for rs in self.receipts.values()
            for r in rs
            if r.kind != "adjustment" and r.payment_method
        }


def load_chunk(ctx: RunContext, scope: CompanyScope, sale_ids: Sequence[str]) -> Chunk:
    chunk = Chunk(sale_ids)
    chunk.sales = {s.id: s for s in ctx.source.iter_sales(None, None, list(sale_ids))}
    receipts: dict[str, list[ReceiptRecord]] = defaultdict(list)
    for receipt in ctx.source.receipts_for_sales(list(chunk.sales)):
        receipts[receipt.sale_id].append(receipt)
    chunk.receipts = dict(receipts)
    receipt_ids = {r.id for rs in receipts.values() for r in rs}
    chunk.docs = ctx.journal.load_for_sales(sale_ids, receipt_ids)
    for doc in chunk.docs.values():
        ctx.remember(doc)
    reasons: dict[str, str] = {}
    for sale_id in sale_ids:
        sale = chunk.sales.get(sale_id)
        invoice = chunk.docs.get((DocKind.INVOICE, sale_id))
        if sale is None:
            reasons[sale_id] = "deleted in the CRM"
            continue
        profile, why = scope.claim(
            sale, invoice is not None and invoice.live, invoice.profile_id if invoice else None
        )
        if profile is None:
            reasons[sale_id] = why
            continue
        accounts = ctx.accounts_for(profile.id)
        for d in sale_docs(sale, chunk.receipts.get(sale_id, []), accounts, profile.id):
            chunk.desired[d.key] = d
    considered: dict[Key, SyncDocument] = {}
    in_chunk = set(sale_ids)
    for key, doc in chunk.docs.items():
        if key in chunk.desired or doc.kind not in SALE_DOC_KINDS:
            considered[key] = doc
            continue
        if doc.kind in RECEIPT_KINDS and doc.local_id not in receipt_ids:
            owner = _current_sale(ctx, doc)
            if owner is not None and owner not in in_chunk and owner in ctx.planned_sales:
                continue  # moved to a sale planned in another chunk of this run
            why = "deleted in the CRM" if owner is None else "moved to another sale"
        elif doc.kind in RECEIPT_KINDS and key not in chunk.desired:
            why = reasons.get(str(doc.sale_id), "changed kind in the CRM")
        else:
            why = reasons.get(str(doc.sale_id), "no longer in the CRM")
        considered[key] = doc
        chunk.gone[key] = why
    chunk.docs = considered
    return chunk


def plan_chunk(ctx: RunContext, chunk: Chunk) -> None:
    """The chunk's operations, once the lists it refers to are known (see run.ensure_lists)."""
    chunk.ops = plan_sale_docs(chunk.desired, chunk.docs, ctx.resolve, chunk.gone)


def _current_sale(ctx: RunContext, doc: SyncDocument) -> str | None:
    """The sale a receipt or adjustment belongs to now in the CRM (None: it is gone)."""
    kind = RecordKind.RECEIPT if doc.kind is DocKind.PAYMENT else RecordKind.ADJUSTMENT
    owners = ctx.source.sales_of(kind, [doc.local_id])
    return owners[0] if owners else None
