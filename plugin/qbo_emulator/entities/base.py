"""The generic create / update / delete / void flow every entity's rules plug into."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ApiFault
from ..repo import Doc, Repo
from .books import check_open
from .common import SERVER_FIELDS, clean


@dataclass
class Options:
    """Per-request flags from the query string, plus the cleaned payload as sent (`sent`)."""

    allow_duplicate_docnum: bool = False
    sent: Doc = field(default_factory=dict)


class Rules:
    """Validation and derived fields of one entity type; subclasses override the hooks."""

    kind = ""
    deletable = False
    voidable = False
    updatable = True
    creatable = True
    posts_to_books = False  # a transaction: refused on or before the closing date (6210)
    read_only: tuple[str, ...] = ()
    keep_on_sparse_blank: tuple[str, ...] = ()

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        return doc

    def after(self, repo: Repo, doc: Doc | None, old: Doc | None) -> None:
        return None

    def check_delete(self, repo: Repo, old: Doc) -> None:
        return None

    def void(self, repo: Repo, old: Doc) -> Doc:
        raise ApiFault("500", f"Operation Void is not supported for {self.kind}.")


def _strip(rules: Rules, payload: Doc) -> Doc:
    drop = set(SERVER_FIELDS) | set(rules.read_only) | {"status", "time"}
    return {k: v for k, v in payload.items() if k not in drop}


def create(repo: Repo, rules: Rules, payload: Any, opts: Options) -> Doc:
    if not rules.creatable:
        raise ApiFault("500", f"Operation Create is not supported for {rules.kind}.")
    if not isinstance(payload, dict):
        raise ApiFault("2020", f"Required parameter {rules.kind} is missing in the request")
    sent = clean(_strip(rules, payload))
    doc = rules.prepare(repo, copy.deepcopy(sent), None, replace(opts, sent=sent))
    if rules.posts_to_books:
        check_open(repo, doc)
    stored = repo.insert(rules.kind, doc)
    rules.after(repo, stored, None)
    return repo.get(rules.kind, stored["Id"]) or stored


def _existing(repo: Repo, rules: Rules, payload: Any) -> Doc:
    if not isinstance(payload, dict):
        raise ApiFault("2020", f"Required parameter {rules.kind} is missing in the request")
    entity_id = payload.get("Id")
    if entity_id in (None, ""):
        raise ApiFault("2020", "Required parameter Id is missing in the request", "Id")
    old = repo.get(rules.kind, entity_id)
    if old is None:
        raise ApiFault(
            "610",
            f"Object Not Found : Something you're trying to use has been made inactive. "
            f"Check the fields with accounts, customers, items, vendors or employees. "
            f"{rules.kind} Id={entity_id}",
            "Id",
        )
    token = payload.get("SyncToken")
    if token in (None, ""):
        raise ApiFault(
            "2020", "Required parameter SyncToken is missing in the request", "SyncToken"
        )
    if str(token).strip() != str(old.get("SyncToken")):
        raise ApiFault(
            "5010",
            "Stale Object Error : You and root were working on this at the same time. root "
            "finished before you did, so your work was not saved.",
            "SyncToken",
        )
    return old


def update(repo: Repo, rules: Rules, payload: Any, opts: Options, force_sparse: bool) -> Doc:
    if not rules.updatable:
        raise ApiFault("500", f"Operation Update is not supported for {rules.kind}.")
    old = _existing(repo, rules, payload)
    if rules.posts_to_books:
        check_open(repo, old)
    sparse = force_sparse or payload.get("sparse") in (True, "true", "True")
    incoming = _strip(rules, payload)
    if sparse:
        merged = copy.deepcopy(old)
        for key, value in incoming.items():
            if value is None or value == "":
                if key not in rules.keep_on_sparse_blank:
                    merged.pop(key, None)
            else:
                merged[key] = clean(value)
    else:
        merged = {k: copy.deepcopy(old[k]) for k in SERVER_FIELDS if k in old}
        merged.update(clean(incoming))
    doc = rules.prepare(repo, merged, old, replace(opts, sent=clean(incoming)))
    if rules.posts_to_books:
        check_open(repo, doc)
    for key in SERVER_FIELDS:
        if key in old:
            doc[key] = old[key]
    doc["sparse"] = False
    repo.save(rules.kind, doc, bump=True)
    rules.after(repo, doc, old)
    return repo.get(rules.kind, doc["Id"]) or doc


def delete(repo: Repo, rules: Rules, payload: Any) -> Doc:
    if not rules.deletable:
        raise ApiFault(
            "500",
            f"Operation Delete is not supported for {rules.kind}. "
            "Make a name list entity inactive instead (Active: false).",
        )
    old = _existing(repo, rules, payload)
    if rules.posts_to_books:
        check_open(repo, old)
    rules.check_delete(repo, old)
    stub = repo.delete(rules.kind, copy.deepcopy(old))
    rules.after(repo, None, old)
    return stub


def void(repo: Repo, rules: Rules, payload: Any) -> Doc:
    if not rules.voidable:
        raise ApiFault("500", f"Operation Void is not supported for {rules.kind}.")
    old = _existing(repo, rules, payload)
    if rules.posts_to_books:
        check_open(repo, old)
    doc = rules.void(repo, copy.deepcopy(old))
    repo.save(rules.kind, doc, bump=True)
    rules.after(repo, doc, old)
    return repo.get(rules.kind, doc["Id"]) or doc
