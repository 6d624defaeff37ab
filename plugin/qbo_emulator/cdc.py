"""Change data capture: objects of the named entities changed since a moment (30 days max)."""

from __future__ import annotations

from typing import Any

from .clock import parse_stamp
from .entities import RULES
from .errors import ApiFault
from .repo import Repo

LOOKBACK = 30 * 86400.0
MAX_OBJECTS = 1000
CDC_KINDS = tuple(k for k in RULES if k not in ("Preferences", "CompanyInfo"))


def run(repo: Repo, args: dict[str, str], stamp: str) -> dict[str, Any]:
    by_lower = {k.lower(): k for k in CDC_KINDS}
    written = [n.strip() for n in args.get("entities", "").split(",") if n.strip()]
    names = [by_lower.get(n.lower(), n) for n in written]
    if not names:
        raise ApiFault("2020", "Required parameter entities is missing in the request", "entities")
    unknown = [n for n in names if n not in CDC_KINDS]
    if unknown:
        raise ApiFault("2170", f"Invalid Enumeration : entities {unknown[0]}", "entities")
    since_text = args.get("changedSince", "")
    since = parse_stamp(since_text) if since_text else None
    if since is None:
        raise ApiFault(
            "2020", "Required parameter changedSince is missing or invalid", "changedSince"
        )
    if since < repo.clock.now() - LOOKBACK:
        raise ApiFault(
            "4001",
            "changedSince cannot be more than 30 days in the past",
            "changedSince",
            message="Invalid query",
        )
    budget = MAX_OBJECTS
    responses: list[dict[str, Any]] = []
    for name in names:
        objects: list[dict[str, Any]] = []
        for doc, status in repo.changed_since(name, since)[:budget]:
            if status == "Deleted":
                meta = {"LastUpdatedTime": doc.get("MetaData", {}).get("LastUpdatedTime")}
                objects.append(
                    {"Id": doc["Id"], "status": "Deleted", "domain": "QBO", "MetaData": meta}
                )
            else:
                objects.append(doc)
        budget -= len(objects)
        if objects:
            responses.append({name: objects, "startPosition": 1, "maxResults": len(objects)})
        else:
            responses.append({})
    return {"CDCResponse": [{"QueryResponse": responses}], "time": stamp}
