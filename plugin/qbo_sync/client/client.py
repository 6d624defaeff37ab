"""QBOClient: the plugin's only way to QuickBooks Online (one company, one token source).

Entity names are QuickBooks' PascalCase ("Customer", "Invoice", ...). Bodies are plain dicts
(Decimals for money) sent as raw JSON, never python-quickbooks' default-filled objects. Replies
are returned as dicts with Decimal numbers. Errors are those of qbo_sync.errors only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import redis
import requests
from quickbooks.client import QuickBooks

from ..config import Settings
from ..errors import QBORequestError, ValidationError
from . import encoding
from .budget import Budget
from .faults import DEFAULT_THROTTLE_PAUSE, error_for, find_fault, parse_faults
from .http import ClientStats, TokenSource, Transport

PAGE_SIZE = 1000
BATCH_REQUEST_ID_MAX = 36  # qbo-api-notes §6: batch requestid <= 36, each bId <= 10
BID_MAX = 10
ENTITIES = frozenset(QuickBooks._BUSINESS_OBJECTS) | {"CompanyInfo"}
OPERATIONS = ("create", "update", "delete")


def sql_string(value: str) -> str:
    """A quoted string literal for QuickBooks' query language (backslash-escaped quotes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One operation of a batch; `bId` at most 10 characters when a requestid is sent."""

    bId: str  # noqa: N815 - QuickBooks' own name
    entity: str
    operation: str  # create, update or delete
    body: Mapping[str, Any]
    options: str | None = None  # e.g. "void" with operation "update"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one batch item: the entity QuickBooks returned, or the item's error."""

    bId: str  # noqa: N815
    entity: dict[str, Any] | None = None
    error: QBORequestError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ValueError(f"{entity!r} is not a QuickBooks entity name (PascalCase, e.g. Customer)")


class QBOClient:
    """Calls to one QuickBooks company through python-quickbooks with our transport."""

    def __init__(
        self,
        settings: Settings,
        realm_id: str,
        tokens: TokenSource,
        redis_conn: redis.Redis,
        *,
        sleep: Callable[[float], None] = time.sleep,
        budget: Budget | None = None,
        key_prefix: str = "qbo_sync",
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        throttle_pause: float = DEFAULT_THROTTLE_PAUSE,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.realm_id = realm_id
        scale = settings.time_scale  # 1 but for an emulator whose clock runs faster
        self.budget = budget or Budget(
            redis_conn,
            settings,
            key_prefix=key_prefix,
            sleep=sleep,
            time_scale=scale,
            margin=0.05 / scale,
        )
        self.qb = Transport(
            settings,
            realm_id,
            tokens,
            self.budget,
            sleep=sleep,
            session=session,
            backoff_base=backoff_base / scale,
            backoff_cap=backoff_cap / scale,
            throttle_pause=throttle_pause / scale,
            heartbeat=heartbeat,
        )

    def leaving_batch_room(self) -> AbstractContextManager[None]:
        """Single requests sent inside (on this thread) leave the minute's window room for the
        batches QuickBooks still allows in it: for singles sent beside batch work."""
        return self.qb.leaving_batch_room()

    def heartbeat(self) -> None:
        """The run's sign of life (on the run's own thread; elsewhere nothing)."""
        self.qb.heartbeat()

    @property
    def stats(self) -> ClientStats:
        return self.qb.stats

    def _url(self, *parts: str) -> str:
        return "/".join([self.qb.api_url, "company", self.realm_id, *parts])

    @staticmethod
    def _unwrap(reply: Any, entity: str) -> dict[str, Any]:
        found = reply.get(entity) if isinstance(reply, Mapping) else None
        if not isinstance(found, dict):
            raise ValidationError(f"QuickBooks reply has no {entity}")
        return found

    # -- writes --------------------------------------------------------------------------------

    def create(self, entity: str, body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """Create an entity; a replay of `request_id` returns the first reply, not a second one."""
        _check_entity(entity)
        reply = self.qb.create_object(entity, encoding.dumps(dict(body)), request_id=request_id)
        return self._unwrap(reply, entity)

    def update(
        self, entity: str, body: Mapping[str, Any], request_id: str, sparse: bool = True
    ) -> dict[str, Any]:
        """Update by Id + SyncToken; sparse (default) changes only the fields sent."""
        _check_entity(entity)
        if "Id" not in body or "SyncToken" not in body:
            raise ValueError("an update needs Id and SyncToken")
        payload = dict(body)
        payload["sparse"] = bool(sparse)
        reply = self.qb.update_object(entity, encoding.dumps(payload), request_id=request_id)
        return self._unwrap(reply, entity)

    def send(
        self,
        operation: str,
        entity: str,
        body: str,
        request_id: str,
        include: str | None = None,
    ) -> dict[str, Any]:
        """Send one journaled operation exactly as journaled: `body` is the encoded JSON text.

        `operation` is create, update (sparse or not, as the body says), void or delete;
        `include` adds QuickBooks' include flag (e.g. allowduplicatedocnum on a create).
        """
        _check_entity(entity)
        params: dict[str, Any] = {}
        if operation == "update":
            params["operation"] = "update"
        elif operation == "delete":
            params["operation"] = "delete"
        elif operation == "void":
            if entity == "Invoice":
                params["operation"] = "void"
            else:
                params.update(operation="update", include="void")
        elif operation != "create":
            raise ValueError(f"unknown operation {operation!r}")
        if include:
            params["include"] = include
        reply = self.qb.post(self._url(entity.lower()), body, params=params, request_id=request_id)
        return self._unwrap(reply, entity)

    def void(self, entity: str, id: str, sync_token: str, request_id: str) -> dict[str, Any]:
        """Void a transaction: Invoice `?operation=void`, others sparse `include=void`."""
        _check_entity(entity)
        if entity == "Invoice":
            params = {"operation": "void"}
            payload: dict[str, Any] = {"Id": str(id), "SyncToken": str(sync_token)}
        else:
            params = {"operation": "update", "include": "void"}
            payload = {"Id": str(id), "SyncToken": str(sync_token), "sparse": True}
        reply = self.qb.post(
            self._url(entity.lower()),
            encoding.dumps(payload),
            params=params,
            request_id=request_id,
        )
        return self._unwrap(reply, entity)

    def delete(self, entity: str, id: str, sync_token: str, request_id: str) -> dict[str, Any]:
        """Delete a transaction (`?operation=delete`); the reply carries status "Deleted"."""
        _check_entity(entity)
        payload = encoding.dumps({"Id": str(id), "SyncToken": str(sync_token)})
        reply = self.qb.delete_object(entity, payload, request_id=request_id)
        return self._unwrap(reply, entity)

    def batch(self, items: Sequence[BatchItem], request_id: str) -> list[BatchResult]:
        """Up to settings.batch_size independent operations in one request (with requestid)."""
        if not items:
            return []
        if len(items) > self.settings.batch_size:
            raise ValueError(f"a batch holds at most {self.settings.batch_size} items")
        if len(request_id) > BATCH_REQUEST_ID_MAX or any(len(i.bId) > BID_MAX for i in items):
            raise ValueError("with a requestid, QuickBooks allows 36 characters and bIds of 10")
        if len({i.bId for i in items}) != len(items):
            raise ValueError("bIds must be unique within a batch")
        requests_ = []
        for item in items:
            _check_entity(item.entity)
            if item.operation not in OPERATIONS:
                raise ValueError(f"batch operation must be one of {OPERATIONS}")
            entry: dict[str, Any] = {
                "bId": item.bId,
                "operation": item.operation,
                item.entity: dict(item.body),
            }
            if item.options:
                entry["optionsData"] = item.options
            requests_.append(entry)
        reply = self.qb.post(
            self._url("batch"),
            encoding.dumps({"BatchItemRequest": requests_}),
            request_id=request_id,
        )
        by_bid = {item.bId: item for item in items}
        results = []
        for answer in (reply or {}).get("BatchItemResponse", []):
            bid = str(answer.get("bId", ""))
            sent = by_bid.get(bid)
            fault = find_fault(answer)
            if fault is not None:
                faults, kind = parse_faults(fault)
                error = error_for(
                    None,
                    faults,
                    fault_type=kind,
                    intuit_tid=self.qb.last_intuit_tid,
                    request_id=request_id,
                    what=f"batch item {bid}",
                )
                results.append(BatchResult(bid, None, error))
            elif sent is not None and isinstance(answer.get(sent.entity), dict):
                results.append(BatchResult(bid, answer[sent.entity], None))
            else:
                entity = next((v for k, v in answer.items() if isinstance(v, dict)), None)
                results.append(BatchResult(bid, entity, None))
        missing = set(by_bid) - {r.bId for r in results}
        for bid in sorted(missing):
            error = ValidationError(
                f"batch item {bid} is missing from the reply", request_id=request_id
            )
            results.append(BatchResult(bid, None, error))
        return results

    # -- reads ---------------------------------------------------------------------------------

    def read(self, entity: str, id: str) -> dict[str, Any]:
        _check_entity(entity)
        return self._unwrap(self.qb.get_single_object(entity, str(id)), entity)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Rows of one query (at most MAXRESULTS, default 100, max 1000)."""
        reply = self.qb.query(sql)
        response = (reply or {}).get("QueryResponse") or {}
        for value in response.values():
            if isinstance(value, list):
                return value
        return []

    def count(self, entity: str, where: str | None = None) -> int:
        _check_entity(entity)
        sql = f"SELECT COUNT(*) FROM {entity}" + (f" WHERE {where}" if where else "")  # noqa: S608
        response = (self.qb.query(sql) or {}).get("QueryResponse") or {}
        return int(response.get("totalCount", 0))

    def query_all(
        self, entity: str, where: str | None = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every row, in pages of `page_size` (max 1000; STARTPOSITION is 1-based), lazily.

        Stops at the first short page, so a full last page costs one more (empty) query.
        """
        _check_entity(entity)
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}")
        base = f"SELECT * FROM {entity}" + (f" WHERE {where}" if where else "")  # noqa: S608
        start = 1
        while True:
            rows = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {page_size}")
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size

    def company_info(self) -> dict[str, Any]:
        reply = self.qb.get(self._url("companyinfo", self.realm_id), params={})
        return self._unwrap(reply, "CompanyInfo")

    def preferences(self) -> dict[str, Any]:
        return self._unwrap(self.qb.get(self._url("preferences"), params={}), "Preferences")
