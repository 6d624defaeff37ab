"""In-process runtime state of one emulator server: throttle windows, queued faults, stats."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any

from .clock import Clock

FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "504",
    "maintenance",
    "slow",
    "drop_before_write",
    "lose_response_after_write",
)
WRITE_ONLY_KINDS = ("drop_before_write", "lose_response_after_write")


class Throttle:
    """QBO's limits on sliding windows of emulator time; only admitted requests are counted."""

    def __init__(self, clock: Clock, enabled: bool = True) -> None:
        self.clock = clock
        self.enabled = enabled  # off (`--no-limits`): every request is admitted, none counted
        self.limits = {
            "realm_minute": (500, 60.0),
            "app_second": (10, 1.0),
            "batch_app_minute": (40, 60.0),
            "batch_realm_minute": (120, 60.0),
        }
        self.max_concurrent = 10
        self._hits: dict[tuple[str, ...], deque[float]] = defaultdict(deque)
        self._inflight: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _full(self, key: tuple[str, ...], limit: int, window: float, now: float) -> bool:
        hits = self._hits[key]
        while hits and hits[0] <= now - window:
            hits.popleft()
        return len(hits) >= limit

    def admit(self, realm: str, client: str, is_batch: bool) -> bool:
        """Count the request if every window has room and fewer than 10 are in flight."""
        if not self.enabled:
            return True
        now = self.clock.now()
        keys: list[tuple[tuple[str, ...], str]] = [
            (("realm", realm), "realm_minute"),
            (("app", realm, client), "app_second"),
        ]
        if is_batch:
            keys.append((("batch_app", realm, client), "batch_app_minute"))
            keys.append((("batch_realm", realm), "batch_realm_minute"))
        with self._lock:
            if self._inflight[(realm, client)] >= self.max_concurrent:
                return False
            for key, name in keys:
                limit, window = self.limits[name]
                if self._full(key, limit, window, now):
                    return False
            for key, _name in keys:
                self._hits[key].append(now)
            self._inflight[(realm, client)] += 1
            return True

    def release(self, realm: str, client: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._inflight[(realm, client)] -= 1

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


@dataclass
class Fault:
    kind: str
    remaining: int
    entity: str | None
    seconds: float


class FaultQueue:
    """Faults injected through the control API, consumed in order by matching requests."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, realm: str, kind: str, count: int, entity: str | None, seconds: float) -> None:
        with self._lock:
            name = entity.lower() if entity else None
            self._faults[realm].append(Fault(kind, count, name, seconds))

    def take(self, realm: str, entity: str, is_write: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults[realm]:
                if fault.entity is not None and fault.entity != entity.lower():
                    continue
                if fault.kind in WRITE_ONLY_KINDS and not is_write:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults[realm].remove(fault)
                return fault
        return None

    def pending(self, realm: str) -> list[dict[str, Any]]:
        with self._lock:
            return [f.__dict__.copy() for f in self._faults[realm]]

    def clear(self, realm: str) -> None:
        with self._lock:
            self._faults.pop(realm, None)


class Stats:
    """Request counts per company since start (or the last reset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))

    def record(
        self,
        realm: str,
        method: str,
        entity: str,
        status: str,
        is_write: bool,
        handler_seconds: float = 0.0,
    ) -> None:
        """Count one request; `handler_seconds` is the time spent handling it, without the
        injected latency (or an injected slow reply)."""
        with self._lock:
            data = self._data[realm]
            data["handler_us"]["total"] += round(handler_seconds * 1e6)
            data["handler_us"][entity] += round(handler_seconds * 1e6)
            data["total"]["requests"] += 1
            data["by_method"][method] += 1
            data["by_entity"][entity] += 1
            data["by_status"][status] += 1
            data["by_entity_status"][f"{entity} {status}"] += 1
            data["kind"]["writes" if is_write else "reads"] += 1
            if status == "429":
                data["total"]["throttled"] += 1

    def count(self, realm: str, key: str) -> None:
        """Count an event such as `executed_writes` or `replays`."""
        with self._lock:
            self._data[realm]["events"][key] += 1

    def snapshot(self, realm: str) -> dict[str, Any]:
        with self._lock:
            data = self._data[realm]
            events = data["events"]
            handled = data["total"]["requests"]
            handler_ms = data["handler_us"]["total"] / 1000
            return {
                "realmId": realm,
                "requests": data["total"]["requests"],
                "reads": data["kind"]["reads"],
                "writes": data["kind"]["writes"],
                "throttled": data["total"]["throttled"],
                "throttled_429": data["by_status"]["429"],
                "handled": handled,
                "handler_ms_total": round(handler_ms, 3),
                "handler_ms_per_request": round(handler_ms / handled, 3) if handled else 0.0,
                "handler_ms_by_entity": {
                    k: round(v / 1000, 3) for k, v in data["handler_us"].items() if k != "total"
                },
                "executed_writes": events["executed_writes"],
                "replays": events["replays"],
                "dropped": events["dropped"],
                "by_method": dict(data["by_method"]),
                "by_entity": dict(data["by_entity"]),
                "by_status": dict(data["by_status"]),
                "by_entity_status": dict(data["by_entity_status"]),
            }

    def reset(self, realm: str) -> None:
        with self._lock:
            self._data.pop(realm, None)
