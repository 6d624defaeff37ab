"""What one API call does once it is authorised: route by URL segment and operation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import batch, cdc, query
from .entities import BY_SEGMENT, RULES, base
from .errors import ApiFault, loads
from .repo import Doc, Repo
from .writes import entity_write, options


@dataclass
class Call:
    method: str
    segments: list[str]
    args: dict[str, str]
    body: bytes
    content_type: str

    @property
    def entity(self) -> str:
        """The stats/fault name of the call: an entity name, "query", "batch", "cdc"."""
        first = self.segments[0].lower() if self.segments else ""
        if first == "query":
            text = self.query_text()
            words = text.replace(",", " ").split()
            for i, word in enumerate(words[:-1]):
                if word.upper() == "FROM":
                    return BY_SEGMENT.get(words[i + 1].lower(), words[i + 1])
            return "query"
        return BY_SEGMENT.get(first, first)

    @property
    def is_write(self) -> bool:
        first = self.segments[0].lower() if self.segments else ""
        return self.method == "POST" and first not in ("query",)

    def query_text(self) -> str:
        if self.method == "GET":
            return self.args.get("query", "")
        return self.body.decode("utf-8", errors="replace")

    def json_body(self) -> Any:
        try:
            return loads(self.body or b"null")
        except ValueError as exc:
            raise ApiFault(
                "2010",
                f"Request has invalid or unsupported property: {exc}",
                message="Request has invalid or unsupported property",
            ) from exc


def unsupported(call: Call) -> ApiFault:
    path = "/".join(call.segments)
    return ApiFault(
        "500",
        f"Unsupported Operation : Could not find resource for relative : /{path} of full path",
    )


def execute(repo: Repo, call: Call, stamp: str) -> dict[str, Any]:
    """Run a non-batch call; raises ApiFault for faults."""
    if not call.segments:
        raise unsupported(call)
    first = call.segments[0].lower()
    rest = call.segments[1:]
    if first == "query" and not rest and call.method in ("GET", "POST"):
        return query.run(repo, call.query_text(), stamp)
    if first == "batch" and not rest and call.method == "POST":
        return batch.run(repo, call.json_body(), call.args, stamp)
    if first == "cdc" and not rest and call.method == "GET":
        return cdc.run(repo, call.args, stamp)
    kind = BY_SEGMENT.get(first)
    if kind is None:
        raise unsupported(call)
    if kind == "Preferences" and not rest:
        if call.method == "GET":
            return {kind: _read(repo, kind, "1"), "time": stamp}
        payload = call.json_body()
        if isinstance(payload, dict):
            payload = {**payload, "Id": "1"}
        doc = base.update(repo, RULES[kind], payload, options(call.args), force_sparse=True)
        return {kind: doc, "time": stamp}
    if call.method == "GET" and len(rest) == 1:
        entity_id = "1" if kind == "CompanyInfo" and rest[0] == repo.realm_id else rest[0]
        return {kind: _read(repo, kind, entity_id), "time": stamp}
    if call.method == "POST" and not rest:
        payload = call.json_body()
        if isinstance(payload, dict) and kind in payload and isinstance(payload[kind], dict):
            payload = payload[kind]
        return {kind: entity_write(repo, kind, payload, call.args), "time": stamp}
    raise unsupported(call)


def _read(repo: Repo, kind: str, entity_id: str) -> Doc:
    doc = repo.get(kind, entity_id)
    if doc is None:
        raise ApiFault(
            "610",
            "Object Not Found : Something you're trying to use has been made inactive. Check the "
            f"fields with accounts, customers, items, vendors or employees. {kind} Id={entity_id}",
        )
    return doc
