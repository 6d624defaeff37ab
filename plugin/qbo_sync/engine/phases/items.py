"""Items phase: one Service item per product name, found by name or created once, then reused."""

from __future__ import annotations

from ...mapping import item_name, payload_hash, to_qbo_item
from ..context import RunContext, name_key
from ..writer import Op
from .common import run_ops


def sync_items(ctx: RunContext, product_names: dict[str, str], counts: dict[str, int]) -> None:
    wanted = {item_name(name).casefold(): item_name(name) for name in product_names.values()}
    missing = {key: name for key, name in wanted.items() if key not in ctx.items}
    counts["unchanged"] += len(wanted) - len(missing)
    if not missing:
        return
    found = ctx.book.load("item", [name_key(n) for n in missing.values()])
    ops = []
    for name in missing.values():
        rec = ctx.book.get_or_new(found, "item", name_key(name))
        body = to_qbo_item(name, ctx.accounts.income_id)
        ops.append(Op(rec, "Item", body, payload_hash(body)))
    ctx.session.commit()
    run_ops(ctx, ops, counts, lambda c, o: None, "Item")
    for op in ops:
        if op.result is not None:
            ctx.items[str(op.result["Name"]).casefold()] = str(op.result["Id"])


def ensure_item(ctx: RunContext, name: str, counts: dict[str, int]) -> str | None:
    """The Id of the item of this name, creating it once when missing (e.g. the adjustment item)."""
    key = item_name(name).casefold()
    if key not in ctx.items:
        sync_items(ctx, {key: name}, counts)
    return ctx.items.get(key)


def ensure_payment_method(ctx: RunContext, name: str, counts: dict[str, int]) -> str | None:
    """The Id of the payment method of this name, created once when QuickBooks has none."""
    key = name.strip().casefold()
    if key in ctx.payment_methods:
        return ctx.payment_methods[key]
    found = ctx.book.load("paymethod", [name_key(name)])
    rec = ctx.book.get_or_new(found, "paymethod", name_key(name))
    body = {"Name": name.strip()[:31]}
    op = Op(rec, "PaymentMethod", body, payload_hash(body))
    ctx.session.commit()
    run_ops(ctx, [op], counts, lambda c, o: None, "PaymentMethod")
    if op.result is not None:
        ctx.payment_methods[key] = str(op.result["Id"])
    return ctx.payment_methods.get(key)
