"""One company's entities inside one open transaction: lookup, insert, save, sequences."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .clock import Clock
from .errors import dumps, loads

Doc = dict[str, Any]
NAME_KINDS = ("Customer", "Vendor", "Employee")  # one DisplayName space (entities.common)
NUMBERED_KINDS = ("Invoice", "CreditMemo")  # DocNumber unique per kind


def norm_name(value: str) -> str:
    return " ".join(value.split()).casefold()


def lookup_key(kind: str, doc: Doc) -> str | None:
    """The indexed `lookup` column: what uniqueness rules compare (a DisplayName, normalised,
    or a DocNumber, casefolded), so a check is one index probe instead of a scan."""
    if kind in NAME_KINDS and doc.get("DisplayName"):
        return norm_name(str(doc["DisplayName"]))
    if kind in NUMBERED_KINDS and doc.get("DocNumber"):
        return str(doc["DocNumber"]).casefold()
    return None


def customer_of(doc: Doc) -> str | None:
    ref = doc.get("CustomerRef")
    if isinstance(ref, dict) and ref.get("value"):
        return str(ref["value"])
    return None


class Repo:
    """Entities of `realm_id` seen through `conn`; ids in `hidden` are invisible (batch rule)."""

    def __init__(self, conn: sqlite3.Connection, realm_id: str, clock: Clock) -> None:
        self.conn = conn
        self.realm_id = realm_id
        self.clock = clock
        self.hidden: set[tuple[str, str]] = set()
        self.created: list[tuple[str, str]] = []

    def doc_of(self, row: sqlite3.Row) -> Doc:
        doc: Doc = loads(row["body"])
        return doc

    def get(
        self, kind: str, entity_id: object, include_deleted: bool = False, see_all: bool = False
    ) -> Doc | None:
        key = str(entity_id).strip()
        if not key.isdigit() or (not see_all and (kind, str(int(key))) in self.hidden):
            return None
        row = self.conn.execute(
            "SELECT body, status FROM entities WHERE realm_id=? AND kind=? AND id=?",
            (self.realm_id, kind, int(key)),
        ).fetchone()
        if row is None or (row["status"] == "Deleted" and not include_deleted):
            return None
        return self.doc_of(row)

    def all(self, kind: str, see_all: bool = False) -> list[Doc]:
        """The kind's entities; `see_all` includes those hidden from later batch items (which
        still count for uniqueness: a name or number taken earlier in the batch is taken)."""
        rows = self.conn.execute(
            "SELECT id, body FROM entities WHERE realm_id=? AND kind=? AND status != 'Deleted' "
            "ORDER BY id",
            (self.realm_id, kind),
        ).fetchall()
        return [self.doc_of(r) for r in rows if see_all or (kind, str(r["id"])) not in self.hidden]

    def some(self, kind: str, ids: list[str]) -> list[Doc]:
        """The kind's entities among `ids` (visible, not deleted), in Id order."""
        wanted = sorted({int(i) for i in ids if i.isdigit()})
        out: list[Doc] = []
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            rows = self.conn.execute(
                "SELECT id, body FROM entities WHERE realm_id=? AND kind=? "
                "AND status != 'Deleted' AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (self.realm_id, kind, json.dumps(part)),
            ).fetchall()
            out += [self.doc_of(r) for r in rows if (kind, str(r["id"])) not in self.hidden]
        return out

    def holders(self, kinds: tuple[str, ...], key: str) -> list[tuple[str, str]]:
        """(kind, Id) of every live entity of `kinds` whose lookup key is `key` (hidden ones
        too: a name or number taken earlier in a batch is taken)."""
        rows = self.conn.execute(
            "SELECT kind, id FROM entities WHERE realm_id=? AND lookup=? "
            "AND status != 'Deleted' AND kind IN (SELECT value FROM json_each(?)) ORDER BY id",
            (self.realm_id, key, json.dumps(list(kinds))),
        ).fetchall()
        return [(str(r["kind"]), str(r["id"])) for r in rows]

    def for_customer(self, kind: str, customer_id: str) -> list[Doc]:
        rows = self.conn.execute(
            "SELECT id, body FROM entities INDEXED BY entities_customer_kind "
            "WHERE realm_id=? AND kind=? AND customer_id=? "
            "AND status != 'Deleted' ORDER BY id",
            (self.realm_id, kind, customer_id),
        ).fetchall()
        return [self.doc_of(r) for r in rows]

    def changed_since(self, kind: str, since: float) -> list[tuple[Doc, str]]:
        rows = self.conn.execute(
            "SELECT body, status FROM entities WHERE realm_id=? AND kind=? AND updated_epoch >= ? "
            "ORDER BY updated_epoch, id",
            (self.realm_id, kind, since),
        ).fetchall()
        return [(self.doc_of(r), str(r["status"])) for r in rows]

    def next_value(self, name: str, start: int = 1) -> int:
        row = self.conn.execute(
            "SELECT value FROM sequences WHERE realm_id=? AND name=?", (self.realm_id, name)
        ).fetchone()
        value = start if row is None else int(row["value"]) + 1
        self.conn.execute(
            "INSERT INTO sequences (realm_id, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT (realm_id, name) DO UPDATE SET value = excluded.value",
            (self.realm_id, name, value),
        )
        return value

    def insert(self, kind: str, doc: Doc) -> Doc:
        """Assign Id, SyncToken "0", MetaData, domain and sparse; store and return the doc."""
        new_id = str(self.next_value(f"id:{kind}"))
        stamp = self.clock.meta_stamp()
        stored: Doc = {"Id": new_id, "SyncToken": "0", "domain": "QBO", "sparse": False}
        stored.update({k: v for k, v in doc.items() if k not in stored})
        stored["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        self._write(kind, stored, "")
        self.created.append((kind, new_id))
        return stored

    def save(self, kind: str, doc: Doc, bump: bool = True, status: str = "") -> Doc:
        """Store an existing doc; `bump` increments SyncToken and LastUpdatedTime."""
        if bump:
            doc["SyncToken"] = str(int(doc.get("SyncToken", "0")) + 1)
            meta = dict(doc.get("MetaData") or {})
            meta["LastUpdatedTime"] = self.clock.meta_stamp()
            doc["MetaData"] = meta
        self._write(kind, doc, status)
        return doc

    def _write(self, kind: str, doc: Doc, status: str) -> None:
        self.conn.execute(
            "INSERT INTO entities "
            "(realm_id, kind, id, status, customer_id, updated_epoch, body, lookup) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (realm_id, kind, id) DO UPDATE SET "
            "status=excluded.status, customer_id=excluded.customer_id, "
            "updated_epoch=excluded.updated_epoch, body=excluded.body, lookup=excluded.lookup",
            (
                self.realm_id,
                kind,
                int(doc["Id"]),
                status,
                customer_of(doc),
                self.clock.now(),
                dumps(doc),
                lookup_key(kind, doc),
            ),
        )

    def delete(self, kind: str, doc: Doc) -> Doc:
        """Mark deleted; the stored body keeps the last state; returns the delete envelope."""
        stub: Doc = {"Id": doc["Id"], "status": "Deleted", "domain": "QBO"}
        meta = dict(doc.get("MetaData") or {})
        meta["LastUpdatedTime"] = self.clock.meta_stamp()
        doc["MetaData"] = meta
        self._write(kind, doc, "Deleted")
        return stub
