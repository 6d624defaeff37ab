"""The HTTP path under python-quickbooks: every call with timeout, budget, requestid, retries.

`Transport` subclasses python-quickbooks' QuickBooks and replaces its request path
(`make_request`/`process_request`): our requests.Session (plain http works, no OAuth2Session),
Bearer token from the token source, `minorversion` and `requestid` on every call, the
company's shared budget, fault parsing into errors.py, and the only retry loop of the plugin.
"""

from __future__ import annotations

import inspect
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import requests
from quickbooks.client import QuickBooks

from ..config import Settings
from ..errors import (
    AuthenticationError,
    RetryableRequestError,
    ThrottledError,
)
from . import encoding
from .budget import Budget
from .faults import DEFAULT_THROTTLE_PAUSE, error_from_response

log = logging.getLogger(__name__)


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def refresh_now(self) -> str: ...


@dataclass
class ClientStats:
    """What this client sent (HTTP attempts, not logical calls)."""

    requests: int = 0
    reads: int = 0
    writes: int = 0
    batches: int = 0
    retries: int = 0
    throttled: int = 0  # 429s seen
    auth_refreshes: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Transport(QuickBooks):  # type: ignore[misc]
    """python-quickbooks' client with our request path (QBOClient builds and uses it)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Transport:
        # QuickBooks.__new__ only takes keywords; no auth_client, so it makes no network call.
        instance: Transport = super().__new__(cls, minorversion=QuickBooks.MINIMUM_MINOR_VERSION)
        return instance

    def __init__(
        self,
        settings: Settings,
        realm_id: str,
        tokens: TokenSource,
        budget: Budget,
        *,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        throttle_pause: float = DEFAULT_THROTTLE_PAUSE,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.company_id = realm_id
        # Called before every request, so a run's lock follows its requests, not its chunks;
        # only on the thread that made the client (the run's): the writer's sending threads
        # leave it to that thread, which beats while it waits for them.
        self._heartbeat = heartbeat or (lambda: None)
        self._owner = threading.get_ident()
        self.throttle_pause = throttle_pause
        self.minorversion = settings.minor_version
        self.api_url_v3 = self.sandbox_api_url_v3 = settings.api_base.rstrip("/")
        self.settings = settings
        self.tokens = tokens
        self.budget = budget
        self.sleep = sleep
        self.http = session or requests.Session()
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._last = threading.local()  # this thread's last reply, for batch item errors
        params = inspect.signature(tokens.refresh_now).parameters
        self._refresh_takes_rejected = "rejected" in params

    @contextmanager
    def leaving_batch_room(self) -> Iterator[None]:
        """This thread's single requests leave the minute's window room for batches."""
        self._last.batch_room = True
        try:
            yield
        finally:
            self._last.batch_room = False

    def heartbeat(self) -> None:
        if threading.get_ident() == self._owner:
            self._heartbeat()

    # -- python-quickbooks hooks -------------------------------------------------------------

    def make_request(
        self,
        request_type: str,
        url: str,
        request_body: Any = None,
        content_type: str = "application/json",
        params: dict[str, Any] | None = None,
        file_path: Any = None,
        file_bytes: Any = None,
        request_id: str | None = None,
    ) -> Any:
        if file_path or file_bytes:
            raise NotImplementedError("attachments are not used by qbo_sync")
        body = request_body if request_body not in (None, {}) else None
        if body is not None and not isinstance(body, str | bytes):
            body = encoding.dumps(body)
        path = url.split("?", 1)[0]
        is_read = request_type == "GET" or path.endswith("/query")
        return self.call(
            request_type,
            url,
            body=body,
            content_type=content_type,
            params=params,
            request_id=request_id,
            is_batch=path.endswith("/batch"),
            kind="read" if is_read else "write",
        )

    def process_request(
        self, request_type: str, url: str, headers: Any = "", params: Any = "", data: Any = ""
    ) -> requests.Response:
        # Only python-quickbooks' own raw paths (e.g. download_pdf) come here: budget and
        # timeout still apply; faults are left to the caller, as the library expects.
        headers = dict(headers or {})
        headers["Authorization"] = "Bearer " + self.tokens.access_token()
        lease = self.budget.acquire(self.company_id)
        self._count(requests=1, reads=1)
        try:
            return self.http.request(
                request_type,
                url,
                headers=headers,
                params=params or None,
                data=data or None,
                timeout=self.settings.http_timeout,
            )
        finally:
            self.budget.release(lease)

    # -- our request path --------------------------------------------------------------------

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**attempt))."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    def call(
        self,
        method: str,
        url: str,
        *,
        body: str | bytes | None = None,
        content_type: str = "application/json",
        params: dict[str, Any] | None = None,
        request_id: str | None = None,
        is_batch: bool = False,
        kind: str = "read",
    ) -> Any:
        """Send one logical call, retrying what is retryable; returns the parsed JSON reply."""
        query: dict[str, Any] = dict(params or {})
        query["minorversion"] = self.minorversion
        if request_id:
            query["requestid"] = request_id
        what = f"{method} {url.rsplit('/v3/', 1)[-1].split('?')[0]}"
        attempt = throttled = 0
        refreshed = False
        rejected: str | None = None
        while True:
            try:
                if rejected is not None:
                    self._refresh(rejected)
                    rejected = None
                return self._attempt(
                    method, url, body, content_type, query, request_id, is_batch, kind, what
                )
            except ThrottledError as exc:
                self._count(throttled=1)
                throttled += 1
                if throttled > self.settings.max_retries:
                    raise
                self.budget.pause(self.company_id, exc.retry_after)
                self._count(retries=1)
            except AuthenticationError as exc:
                if refreshed:
                    raise
                refreshed = True
                rejected = getattr(exc, "rejected_token", "")
                self._count(auth_refreshes=1, retries=1)
                log.info("%s: 401 (%s), refreshing the access token", what, exc.code)
            except RetryableRequestError as exc:
                if attempt >= self.settings.max_retries:
                    raise
                delay = self._backoff(attempt)
                attempt += 1
                self._count(retries=1)
                log.info("%s: %s; retry %d in %.2f s", what, exc, attempt, delay)
                self.sleep(delay)

    def _refresh(self, rejected: str) -> None:
        if self._refresh_takes_rejected:
            self.tokens.refresh_now(rejected=rejected or None)  # type: ignore[call-arg]
        else:
            self.tokens.refresh_now()

    def _attempt(
        self,
        method: str,
        url: str,
        body: str | bytes | None,
        content_type: str,
        query: dict[str, Any],
        request_id: str | None,
        is_batch: bool,
        kind: str,
        what: str,
    ) -> Any:
        self.heartbeat()
        token = self.tokens.access_token()
        headers = {
            "Authorization": "Bearer " + token,
            "Accept": "application/json",
            "Content-Type": content_type,
            "User-Agent": "qbo_sync (python-quickbooks)",
        }
        lease = self.budget.acquire(
            self.company_id,
            is_batch,
            batch_room=getattr(self._last, "batch_room", False),
            beat=self.heartbeat,  # a run waiting for its budget is alive (its own thread only)
        )
        counts = {"requests": 1, "batches": int(is_batch)}
        counts["writes" if kind == "write" else "reads"] = 1
        self._count(**counts)
        began = time.monotonic()
        try:
            response = self.http.request(
                method,
                url,
                params=query,
                data=body,
                headers=headers,
                timeout=self.settings.http_timeout,
            )
        except requests.Timeout as exc:
            self._count(errors=1)
            raise RetryableRequestError(
                f"{what} timed out after {self.settings.http_timeout} s", request_id=request_id
            ) from exc
        except requests.RequestException as exc:
            self._count(errors=1)
            raise RetryableRequestError(
                f"{what}: connection failed ({type(exc).__name__})", request_id=request_id
            ) from exc
        finally:
            self.budget.release(lease)
            self._last.seconds = time.monotonic() - began
        return self._parse(response, request_id, what, token)

    @property
    def last_seconds(self) -> float | None:
        """How long this thread's last request took on the wire (budget waits left out)."""
        return getattr(self._last, "seconds", None)

    @property
    def last_intuit_tid(self) -> str | None:
        """The intuit_tid of this thread's last reply (a batch's items share their reply's)."""
        return getattr(self._last, "intuit_tid", None)

    def _parse(
        self, response: requests.Response, request_id: str | None, what: str, token: str
    ) -> Any:
        self._last.intuit_tid = response.headers.get("intuit_tid")
        try:
            body = encoding.loads(response.content) if response.content else None
        except ValueError:
            body = None
            if 200 <= response.status_code < 300:
                self._count(errors=1)
                raise RetryableRequestError(
                    f"{what}: reply is not JSON (HTTP {response.status_code})",
                    status=response.status_code,
                    intuit_tid=response.headers.get("intuit_tid"),
                    request_id=request_id,
                ) from None
        error = error_from_response(
            response.status_code, body, response.headers, request_id, what, self.throttle_pause
        )
        if error is None:
            return body
        self._count(errors=1)
        if isinstance(error, AuthenticationError):
            error.rejected_token = token  # type: ignore[attr-defined]
        raise error
