"""Sales phase: each sale in scope is one Invoice (DocNumber = sale number), kept up to date.

A cancelled sale, or one deleted from the CRM, has its invoice voided, its payments first.
DocNumber clash (6140): the existing invoice is linked only when its customer, date and total
match the sale; otherwise the sale fails with a plain reason.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from ...client import sql_string
from ...errors import MappingError
from ...mapping import ADJUSTMENT_ITEM_NAME, item_name, payload_hash, to_qbo_invoice
from ...models import RecordStatus, SyncRecord
from ...source import ReceiptRecord, SaleRecord
from ..context import RunContext
from ..plan import sales_in_scope
from ..writer import Op
from .common import batched, run_ops, stale_retry, void
from .items import ensure_item

# Local kinds of the QuickBooks transactions that hang off one sale.
PAYMENT_KINDS = (
    ("receipt", "Payment"),
    ("adjustment_app", "Payment"),
    ("adjustment", "CreditMemo"),
)


def void_sale_payments(ctx: RunContext, receipt_ids: list[str]) -> bool:
    """Void the payments (and delete the credit memos) of these receipts; True when all went."""
    ok = True
    for kind, entity in PAYMENT_KINDS:
        for rec in ctx.book.load(kind, receipt_ids).values():
            if rec.qbo_id and rec.qbo_type == entity:
                ok = void(ctx, rec, entity) and ok
    return ok


def void_deleted(ctx: RunContext, counts: dict[str, int]) -> None:
    """What was deleted in the CRM is voided in QuickBooks: payments first, then invoices."""
    for kind, entity in PAYMENT_KINDS:
        for rec in ctx.book.deleted(kind):
            if rec.qbo_type == entity:
                counts["updated" if void(ctx, rec, entity) else "failed"] += 1
    for rec in ctx.book.deleted("sale"):
        counts["updated" if void(ctx, rec, "Invoice") else "failed"] += 1


def _linked_invoice(ctx: RunContext, op: Op) -> Op | None:
    """6140: link the invoice already numbered so when it is this very sale; else no retry."""
    if op.error is not None and op.error.code == "6140" and op.operation == "create":
        doc = str(op.body["DocNumber"])
        query = f"SELECT * FROM Invoice WHERE DocNumber = {sql_string(doc)}"  # noqa: S608
        for inv in ctx.client.query(query):
            if (
                str((inv.get("CustomerRef") or {}).get("value")) == op.body["CustomerRef"]["value"]
                and str(inv.get("TxnDate")) == op.body["TxnDate"]
                and Decimal(str(inv.get("TotalAmt"))) == op.extra["total"]
            ):
                op.result, op.error, op.outcome = inv, None, "unchanged"
                op.rec.cleaned = f"linked to the existing QuickBooks invoice {doc}"
                return None
        return None
    return stale_retry(ctx, op)


def _invoice(
    ctx: RunContext,
    sale: SaleRecord,
    customer_qbo_id: str,
    receipts: list[ReceiptRecord],
) -> dict[str, Any]:
    increases = [r for r in receipts if r.kind == "adjustment" and r.amount < 0]
    adjustment_item = (
        ensure_item(ctx, ADJUSTMENT_ITEM_NAME, defaultdict(int)) if increases else None
    )
    items = {
        line.product_name: ctx.items[item_name(line.product_name).casefold()]
        for line in sale.lines
        if item_name(line.product_name).casefold() in ctx.items
    }
    return to_qbo_invoice(
        sale,
        customer_qbo_id,
        items,
        ctx.accounts.ar_id,
        increases=increases,
        adjustment_item_id=adjustment_item,
    )


def _sale_op(
    ctx: RunContext,
    sale: SaleRecord,
    rec: SyncRecord,
    customer: SyncRecord | None,
    receipts: list[ReceiptRecord],
    counts: dict[str, int],
) -> Op | None:
    if sale.status == "cancelled":
        if rec.qbo_id and rec.qbo_type != "voided":
            if void_sale_payments(ctx, [r.id for r in receipts]) and void(ctx, rec, "Invoice"):
                counts["updated"] += 1
            else:
                counts["failed"] += 1
        else:
            counts["unchanged"] += 1
        return None
    if customer is None or customer.status is not RecordStatus.SYNCED or not customer.qbo_id:
        ctx.book.blocked(rec, "customer", f"#{sale.customer_id}", customer)
        counts["blocked"] += 1
        return None
    try:
        body = _invoice(ctx, sale, customer.qbo_id, receipts)
    except MappingError as exc:
        ctx.book.failed(rec, None, f"The sale cannot be sent as it is: {exc}", answered=True)
        counts["failed"] += 1
        return None
    digest = payload_hash(body)
    total = sum((Decimal(str(line["Amount"])) for line in body["Line"]), Decimal("0.00"))
    if (
        rec.qbo_id
        and rec.qbo_type == "Invoice"
        and rec.payload_hash == digest
        and not rec.request_id
    ):
        if rec.status is not RecordStatus.SYNCED:
            ctx.book.succeeded(rec, {}, digest)
        counts["unchanged"] += 1
        return None
    if rec.qbo_id and rec.qbo_type == "Invoice":
        body = {**body, "Id": rec.qbo_id, "SyncToken": rec.sync_token, "sparse": True}
        return Op(
            rec,
            "Invoice",
            body,
            digest,
            operation="update",
            outcome="updated",
            extra={"total": total},
        )
    return Op(rec, "Invoice", body, digest, extra={"total": total})


def sync_sales(ctx: RunContext, counts: dict[str, int]) -> None:
    void_deleted(ctx, counts)
    for chunk in batched(sales_in_scope(ctx.source, ctx.profile, ctx.run.sale_ids)):
        ids = [s.id for s in chunk]
        found = ctx.book.load("sale", ids)
        customers = ctx.book.load("customer", {s.customer_id for s in chunk})
        receipts: dict[str, list[ReceiptRecord]] = defaultdict(list)
        for receipt in ctx.source.receipts_for_sales(ids):
            receipts[receipt.sale_id].append(receipt)
        ops: list[Op] = []
        for sale in chunk:
            rec = ctx.book.get_or_new(found, "sale", sale.id)
            op = _sale_op(
                ctx, sale, rec, customers.get(sale.customer_id), receipts[sale.id], counts
            )
            if op is not None:
                ops.append(op)
        ctx.commit()
        run_ops(ctx, ops, counts, _linked_invoice, "Invoice")
        ctx.book.forget(found, customers)
        ctx.progress(len(chunk))
