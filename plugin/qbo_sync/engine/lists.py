"""Customers, items and payment methods: each exists once in the company, up to date.

Items and payment methods are found by name (QuickBooks' list, read once, only when one is
missing from what was recorded) or created once; customers follow the identity rules of
`apply` (linked only when it is the same person, else a unique name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..mapping import payment_method_name
from ..models import DocKind, SyncDocument
from .applier_types import Counts
from .apply import Applier
from .context import RunContext
from .desired import Desired, customer_docs, item_doc, payment_method_doc
from .planner import content_hash, plan_lists


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def sync_customers(
    ctx: RunContext, applier: Applier, customer_ids: Sequence[str], counts: Counts
) -> None:
    for chunk in _chunks(sorted(set(customer_ids), key=lambda c: (len(c), c))):
        found = ctx.journal.load(DocKind.CUSTOMER, chunk)
        for doc in found.values():
            ctx.remember(doc)
        desired: list[Desired] = []
        for customer in ctx.source.customers(chunk):
            applier.customers[customer.id] = customer
            known = found.get(customer.id)
            desired.append(customer_docs(customer, known.qbo_name if known else None))
        plan_and_apply_lists(ctx, applier, desired, found, counts)
        ctx.progress(len(chunk))


def plan_and_apply_lists(
    ctx: RunContext,
    applier: Applier,
    desired: list[Desired],
    found: dict[str, SyncDocument],
    counts: Counts,
) -> None:
    """Plan list documents against what was recorded; apply; count the unchanged ones."""
    if not desired:
        return
    kind = desired[0].kind
    recorded = {(kind, k): v for k, v in found.items()}
    ops = plan_lists(desired, recorded, ctx.resolve)
    planned = {op.key for op in ops}
    for d in desired:
        applier.labels[d.key] = d.label
        if d.key in planned:
            continue
        doc = found.get(d.local_id)
        if doc is not None and not doc.in_flight:
            ctx.journal.synced(doc)
        counts["unchanged"] += 1
    if ctx.preview:
        applier.previewed.extend(ops)
        return
    docs = dict(recorded)
    applier.apply(ops, docs)
    ctx.journal.commit()
    ctx.journal.forget(docs.values())


def sync_items(
    ctx: RunContext,
    applier: Applier,
    product_names: Iterable[str],
    methods: Iterable[str],
    counts: Counts,
) -> None:
    """One Service item per product name and one payment method per name, found or created."""
    income = next(iter(ctx.accounts.values())).income_id
    items = {d.local_id: d for d in (item_doc(n, income) for n in product_names)}
    pays = {
        d.local_id: d for d in (payment_method_doc(n) for n in methods if payment_method_name(n))
    }
    existing_of: Callable[[], dict[str, dict[str, Any]]]
    for kind, wanted, existing_of in (
        (DocKind.ITEM, items, lambda: ctx.existing_items),
        (DocKind.PAYMENT_METHOD, pays, lambda: ctx.existing_methods),
    ):
        if not wanted:
            continue
        found = ctx.journal.load(kind, wanted)
        missing = [d for k, d in wanted.items() if k not in found or not found[k].qbo_id]
        if missing and not ctx.preview:
            ctx.read_lists()
            existing = existing_of()
            for d in missing:
                entry = existing.get(str(d.body["Name"]).casefold())
                if entry is None:
                    continue
                doc = found.get(d.local_id) or ctx.journal.new(kind, d.local_id)
                found[d.local_id] = doc
                ctx.journal.linked(
                    doc, entry, f"linked to the existing QuickBooks {entry['Name']!r}"
                )
                doc.live = bool(entry.get("Active", True))
                doc.payload_hash = content_hash(d.body) if doc.live else None
            ctx.journal.commit()
        for doc in found.values():
            ctx.remember(doc)
        plan_and_apply_lists(ctx, applier, list(wanted.values()), found, counts)
