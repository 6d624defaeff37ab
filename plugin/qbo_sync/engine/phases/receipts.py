"""Receipts phase: receipts become Payments applied to their sale's invoice; adjustments follow.

An adjustment that reduces the balance is a CreditMemo applied to the invoice by a zero-amount
Payment ("adjustment_app"); one that raises it is a line on the invoice itself (sales phase).
A receipt or adjustment whose sale is not in QuickBooks is BLOCKED, never posted unapplied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ...errors import MappingError
from ...mapping import (
    ADJUSTMENT_ITEM_NAME,
    payload_hash,
    to_qbo_credit_application,
    to_qbo_credit_memo,
    to_qbo_payment,
)
from ...models import RecordStatus, SyncRecord
from ...source import ReceiptRecord, SaleRecord
from ..context import RunContext
from ..plan import sales_in_scope
from ..writer import Op
from .common import batched, run_ops, stale_retry
from .items import ensure_item, ensure_payment_method


def _op(
    rec: SyncRecord,
    entity: str,
    body: dict[str, object],
    extra: dict[str, object],
    counts: dict[str, int],
) -> Op | None:
    """Create, update or nothing, by comparing the payload with what was last pushed."""
    digest = payload_hash(body)
    if rec.qbo_id and rec.qbo_type == entity and rec.payload_hash == digest and not rec.request_id:
        if rec.status is not RecordStatus.SYNCED:
            rec.status = RecordStatus.SYNCED
        counts["unchanged"] += 1
        return None
    if rec.qbo_id and rec.qbo_type == entity:
        full = {**body, "Id": rec.qbo_id, "SyncToken": rec.sync_token, "sparse": True}
        return Op(rec, entity, full, digest, operation="update", outcome="updated", extra=extra)
    return Op(rec, entity, dict(body), digest, extra=extra)


class ReceiptChunk:
    """The receipts of one chunk of sales, with the sync state they depend on."""

    def __init__(self, ctx: RunContext, sales: Sequence[SaleRecord], counts: dict[str, int]):
        self.ctx, self.counts = ctx, counts
        self.sales = {s.id: s for s in sales}
        self.sale_recs = ctx.book.load("sale", self.sales)
        self.customer_recs = ctx.book.load("customer", {s.customer_id for s in sales})
        self.receipts = list(ctx.source.receipts_for_sales(list(self.sales)))
        ids = [r.id for r in self.receipts]
        self.recs = {
            kind: ctx.book.load(kind, ids) for kind in ("receipt", "adjustment", "adjustment_app")
        }
        self.side: dict[str, int] = defaultdict(int)  # list entries created on the way

    def first_round(self) -> tuple[list[Op], list[ReceiptRecord]]:
        ops: list[Op] = []
        credits: list[ReceiptRecord] = []
        for receipt in self.receipts:
            kind = "adjustment" if receipt.kind == "adjustment" else "receipt"
            rec = self.ctx.book.get_or_new(self.recs[kind], kind, receipt.id)
            sale = self.sales[receipt.sale_id]
            sale_rec = self.sale_recs.get(sale.id)
            if sale.status == "cancelled":  # its payments were voided with the sale
                self.counts["unchanged"] += 1
                continue
            if (
                sale_rec is None
                or sale_rec.status is not RecordStatus.SYNCED
                or not sale_rec.qbo_id
                or sale_rec.qbo_type != "Invoice"
            ):
                self.ctx.book.blocked(rec, "sale", sale.number, sale_rec)
                self.counts["blocked"] += 1
                continue
            customer = self.customer_recs[sale.customer_id]
            try:
                op = self._map(receipt, rec, sale_rec, str(customer.qbo_id))
            except MappingError as exc:
                self.ctx.book.failed(
                    rec, None, f"The {kind} cannot be sent as it is: {exc}", answered=True
                )
                self.counts["failed"] += 1
                continue
            if op is not None:
                ops.append(op)
            if kind == "adjustment" and receipt.amount > 0:
                credits.append(receipt)
        return ops, credits

    def _map(
        self, receipt: ReceiptRecord, rec: SyncRecord, sale_rec: SyncRecord, customer_qbo_id: str
    ) -> Op | None:
        ctx, accounts = self.ctx, self.ctx.accounts
        if receipt.kind != "adjustment":
            method = (
                ensure_payment_method(ctx, receipt.payment_method, self.side)
                if receipt.payment_method
                else None
            )
            body = to_qbo_payment(
                receipt, customer_qbo_id, str(sale_rec.qbo_id), method, accounts.deposit_id
            )
            return _op(rec, "Payment", body, {}, self.counts)
        if receipt.amount > 0:
            item = ensure_item(ctx, ADJUSTMENT_ITEM_NAME, self.side)
            if item is None:
                raise MappingError("the adjustment item could not be created in QuickBooks")
            memo = to_qbo_credit_memo(receipt, customer_qbo_id, item, accounts.ar_id)
            return _op(rec, "CreditMemo", memo, {}, self.counts)
        # Raising (or zero) adjustments live on the invoice itself: nothing of their own to send.
        digest = payload_hash({"invoice": sale_rec.qbo_id, "amount": str(receipt.amount)})
        counts_key = "unchanged" if rec.payload_hash == digest else "created"
        self.ctx.book.succeeded(
            rec, {"Id": sale_rec.qbo_id, "SyncToken": "0"}, digest, "InvoiceLine"
        )
        self.counts[counts_key] += 1
        return None

    def applications(self, credits: list[ReceiptRecord]) -> list[Op]:
        """The zero-amount Payments applying each credited adjustment's memo to its invoice."""
        ops: list[Op] = []
        for receipt in credits:
            memo = self.recs["adjustment"][receipt.id]
            if memo.status is not RecordStatus.SYNCED or memo.qbo_type != "CreditMemo":
                continue  # counted with the memo
            app = self.ctx.book.get_or_new(
                self.recs["adjustment_app"], "adjustment_app", receipt.id
            )
            sale = self.sales[receipt.sale_id]
            body = to_qbo_credit_application(
                receipt,
                str(self.customer_recs[sale.customer_id].qbo_id),
                str(self.sale_recs[sale.id].qbo_id),
                str(memo.qbo_id),
            )
            op = _op(app, "Payment", body, {}, defaultdict(int))
            if op is not None:
                ops.append(op)
        return ops


def sync_receipts(ctx: RunContext, counts: dict[str, int]) -> None:
    headers = sales_in_scope(ctx.source, ctx.profile, ctx.run.sale_ids, with_lines=False)
    for sales in batched(headers):
        chunk = ReceiptChunk(ctx, sales, counts)
        ops, credits = chunk.first_round()
        ctx.commit()
        run_ops(ctx, ops, counts, stale_retry, "")
        apps = chunk.applications(credits)
        if apps:
            ctx.commit()
            app_counts: dict[str, int] = defaultdict(int)
            run_ops(ctx, apps, app_counts, stale_retry, "Payment")
            counts["failed"] += app_counts["failed"]  # a memo left unapplied is a failure
        ctx.commit()
        ctx.book.forget(chunk.sale_recs, chunk.customer_recs, *chunk.recs.values())
        ctx.progress(len(sales))
