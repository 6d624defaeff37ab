"""Customers phase: each customer with a sale in scope exists once in QuickBooks, up to date.

Identity rule on a DisplayName clash (6240): the existing QuickBooks customer of that name is
linked when its e-mail or one of its phone numbers matches ours (and then updated); otherwise
ours is created under a deterministic unique name, "<name> (C-<local id>)", kept for later runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...client import sql_string
from ...mapping import disambiguated_display_name, payload_hash, to_qbo_customer
from ...models import RecordStatus
from ...source import CustomerRecord
from ..context import RunContext
from ..plan import chunks
from ..writer import Op
from .common import run_ops, stale_retry


def _digits(value: str | None) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())[-10:]


def same_person(ours: CustomerRecord, theirs: dict[str, Any]) -> bool:
    email = (theirs.get("PrimaryEmailAddr") or {}).get("Address", "")
    if ours.email and email and ours.email.strip().casefold() == email.strip().casefold():
        return True
    our_phones = {_digits(p) for p in (ours.phone, ours.alt_phone)} - {""}
    their_phones = {
        _digits((theirs.get(k) or {}).get("FreeFormNumber"))
        for k in ("PrimaryPhone", "AlternatePhone", "Mobile")
    } - {""}
    return bool(our_phones & their_phones)


def _op(ctx: RunContext, customer: CustomerRecord, found: dict[str, Any]) -> Op | None:
    rec = ctx.book.get_or_new(found, "customer", customer.id)
    mapped = to_qbo_customer(customer, display_name=rec.qbo_name)
    rec.cleaned = "; ".join(mapped.notes) or None
    digest = payload_hash(mapped.body)
    if rec.qbo_id and rec.payload_hash == digest and not rec.request_id:
        if rec.status is not RecordStatus.SYNCED:
            ctx.book.succeeded(rec, {}, digest)
        return None
    if rec.qbo_id:
        body = {**mapped.body, "Id": rec.qbo_id, "SyncToken": rec.sync_token, "sparse": True}
        return Op(
            rec,
            "Customer",
            body,
            digest,
            operation="update",
            outcome="updated",
            extra={"customer": customer},
        )
    return Op(rec, "Customer", mapped.body, digest, extra={"customer": customer})


def _follow_up(ctx: RunContext, op: Op) -> Op | None:
    """A second try for a clash (6240) or a stale SyncToken (5010); None when there is none."""
    err = op.error
    assert err is not None
    customer: CustomerRecord = op.extra["customer"]
    if err.code == "6240" and op.operation == "create" and not op.extra.get("retried"):
        name = str(op.body.get("DisplayName", ""))
        matches = op.extra.get("existing", [])
        if matches and same_person(customer, matches[0]):
            op.rec.qbo_id = str(matches[0]["Id"])
            op.rec.sync_token = str(matches[0].get("SyncToken", "0"))
            op.rec.cleaned = "; ".join(
                filter(
                    None, [op.rec.cleaned, f"linked to the existing QuickBooks customer {name!r}"]
                )
            )
            body = {**op.body, "Id": op.rec.qbo_id, "SyncToken": op.rec.sync_token, "sparse": True}
            return Op(
                op.rec,
                "Customer",
                body,
                op.payload_hash,
                operation="update",
                outcome="updated",
                extra={"customer": customer, "retried": True},
            )
        op.rec.qbo_name = disambiguated_display_name(name, customer.id)
        mapped = to_qbo_customer(customer, display_name=op.rec.qbo_name)
        op.rec.cleaned = "; ".join(
            [
                *mapped.notes,
                f"named {op.rec.qbo_name!r}: {name!r} is taken in QuickBooks by someone else",
            ]
        )
        return Op(
            op.rec,
            "Customer",
            mapped.body,
            payload_hash(mapped.body),
            extra={"customer": customer, "retried": True},
        )
    return stale_retry(ctx, op)


def _clashing(ctx: RunContext, ops: list[Op]) -> None:
    """One query for all the names QuickBooks said were taken (6240), not one per name."""
    names = sorted(
        {
            str(op.body.get("DisplayName"))
            for op in ops
            if op.error is not None and op.error.code == "6240"
        }
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(names), 30):
        listed = ", ".join(sql_string(n) for n in names[start : start + 30])
        for cust in ctx.client.query(
            f"SELECT * FROM Customer WHERE DisplayName IN ({listed}) "  # noqa: S608
            "AND Active IN (true, false)"
        ):
            found.setdefault(str(cust.get("DisplayName", "")).casefold(), []).append(cust)
    for op in ops:
        op.extra["existing"] = found.get(str(op.body.get("DisplayName", "")).casefold(), [])


def sync_customers(ctx: RunContext, customer_ids: Sequence[str], counts: dict[str, int]) -> None:
    for chunk in chunks(customer_ids):
        found = ctx.book.load("customer", chunk)
        ops: list[Op] = []
        for customer in ctx.source.customers(chunk):
            op = _op(ctx, customer, found)
            if op is None:
                counts["unchanged"] += 1
            else:
                ops.append(op)
        ctx.commit()
        run_ops(ctx, ops, counts, _follow_up, "Customer", prefetch=_clashing)
        ctx.book.forget(found)
        ctx.progress(len(chunk))
