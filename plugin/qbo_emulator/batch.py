"""The batch endpoint: up to 30 independent items, each with its own result or Fault."""

from __future__ import annotations

from typing import Any

from . import query
from .entities import RULES
from .errors import ApiFault
from .repo import Repo
from .writes import entity_write

MAX_ITEMS = 30
BATCH_REQUEST_ID_LIMIT = 36
BID_LIMIT_WITH_REQUEST_ID = 10
ITEM_OPTIONS = ("void", "allowduplicatedocnum")


def _validate(payload: Any, args: dict[str, str]) -> list[dict[str, Any]]:
    items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiFault(
            "2020",
            "Required parameter BatchItemRequest is missing in the request",
            "BatchItemRequest",
        )
    if len(items) > MAX_ITEMS:
        raise ApiFault(
            "6000",
            f"Batch request has {len(items)} items; the maximum is {MAX_ITEMS}.",
            "BatchItemRequest",
        )
    request_id = args.get("requestid", "")
    if len(request_id) > BATCH_REQUEST_ID_LIMIT:
        raise ApiFault(
            "2050",
            f"requestid of a batch request is limited to {BATCH_REQUEST_ID_LIMIT} characters",
            "requestid",
        )
    seen: set[str] = set()
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        if not bid:
            raise ApiFault("2020", "Required parameter bId is missing in the request", "bId")
        if bid in seen:
            raise ApiFault("6000", f"Duplicate bId {bid} in batch request", "bId")
        if request_id and len(bid) > BID_LIMIT_WITH_REQUEST_ID:
            raise ApiFault(
                "2050",
                f"bId is limited to {BID_LIMIT_WITH_REQUEST_ID} characters when requestid is set",
                "bId",
            )
        seen.add(bid)
    return items


def _run_item(repo: Repo, item: dict[str, Any], stamp: str) -> dict[str, Any]:
    if "Query" in item:
        response = query.run(repo, str(item["Query"]), stamp)
        return {"QueryResponse": response["QueryResponse"]}
    kinds = [k for k in item if k in RULES]
    if len(kinds) != 1:
        raise ApiFault("500", "Unsupported Operation : batch item names no supported entity")
    kind = kinds[0]
    operation = str(item.get("operation", "")).lower()
    if operation not in ("create", "update", "delete"):
        raise ApiFault("2170", f"Invalid Enumeration : operation {operation!r}", "operation")
    flags = item_options(item.get("optionsData"))
    args = {"operation": operation, "include": ",".join(sorted(flags))}
    if "void" in flags and kind == "Invoice" and operation == "update":
        args["operation"] = "void"
    return {kind: entity_write(repo, kind, item[kind], args)}


def item_options(value: Any) -> set[str]:
    """`optionsData` as a string ("void", "a,b") or a list (.NET SDK); unknown flags are 2170."""
    parts = value if isinstance(value, list) else str(value or "").split(",")
    flags = {str(p).strip().lower() for p in parts if str(p).strip()}
    unknown = sorted(flags - set(ITEM_OPTIONS))
    if unknown:
        raise ApiFault("2170", f"Invalid Enumeration : optionsData {unknown[0]}", "optionsData")
    return flags


def run(repo: Repo, payload: Any, args: dict[str, str], stamp: str) -> dict[str, Any]:
    """Each item runs in its own savepoint; creations are invisible to later items."""
    items = _validate(payload, args)
    responses: list[dict[str, Any]] = []
    for item in items:
        bid = str(item["bId"])
        repo.conn.execute("SAVEPOINT batch_item")
        try:
            result = _run_item(repo, item, stamp)
        except ApiFault as fault:
            repo.conn.execute("ROLLBACK TO batch_item")
            repo.conn.execute("RELEASE batch_item")
            repo.created.clear()
            responses.append({"bId": bid, "Fault": fault.fault()})
            continue
        repo.conn.execute("RELEASE batch_item")
        repo.hidden.update(repo.created)
        repo.created.clear()
        responses.append({"bId": bid, **result})
    return {"BatchItemResponse": responses, "time": stamp}
