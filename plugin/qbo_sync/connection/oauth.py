"""Intuit OAuth 2.0 through intuit-oauth's AuthClient: authorize URL, code, refresh, revoke.

One AuthClient per process and settings (its constructor fetches the discovery document), with
a timeout on every HTTP call (intuitlib passes none) and a lock around each token call, since
the library keeps the last tokens on the shared object.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from intuitlib.client import AuthClient
from intuitlib.config import DISCOVERY_URL
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

from ..config import Settings
from ..errors import (
    ConfigurationError,
    ConnectionProblem,
    QBOFault,
    ReconnectNeeded,
    RetryableRequestError,
)

log = logging.getLogger(__name__)

SCOPES = [Scopes.ACCOUNTING]


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint returned; the tokens never appear in repr or logs."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    realm_id: str | None = None
    # The refresh token's hard expiry (Intuit's 5-year cap), when Intuit says it.
    refresh_hard_expires_at: datetime | None = None


# Asks the token endpoint for the refresh token's hard expiry (x_refresh_token_hard_expires_in);
# intuit-oauth 1.2.6 does not send it, and keeps every key of the answer as an attribute.
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


class TimeoutAuthClient(AuthClient):  # type: ignore[misc]
    """AuthClient whose every request (discovery, token, revoke) has a timeout, and whose token
    calls ask for the refresh token's hard expiry."""

    def __init__(self, *args: Any, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout  # set first: the parent constructor already makes a request
        super().__init__(*args, **kwargs)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout)
        if url == getattr(self, "token_endpoint", None):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), HARD_EXPIRY_HEADER: "true"}
        return super().request(method, url, *args, **kwargs)


_clients: dict[tuple[Any, ...], tuple[TimeoutAuthClient, threading.Lock]] = {}
_clients_lock = threading.Lock()


def _environment(settings: Settings) -> str:
    return settings.discovery_url if settings.environment == "emulator" else settings.environment


def discovery_document_url(settings: Settings) -> str:
    """Where the OAuth endpoints are looked up: Intuit's discovery document for production and
    sandbox (the emulator URL plays no part), the emulator's for emulator."""
    environment = _environment(settings)
    return str(DISCOVERY_URL.get(environment, environment))


def _error_body(exc: AuthClientError) -> dict[str, Any]:
    try:
        body = json.loads(exc.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _translate(exc: AuthClientError, what: str) -> Exception:
    body = _error_body(exc)
    error = str(body.get("error", ""))
    description = str(body.get("error_description", ""))
    fault = [QBOFault(code=error or str(exc.status_code), message=description or error)]
    facts = f"{what} failed: HTTP {exc.status_code} {error} (intuit_tid {exc.intuit_tid})"
    if error == "invalid_grant":
        return ReconnectNeeded(f"{facts}: the connection must be made again")
    if error == "invalid_client":
        return ConfigurationError(f"{facts}: check QBO_SYNC_CLIENT_ID and QBO_SYNC_CLIENT_SECRET")
    if exc.status_code in (429,) or exc.status_code >= 500:
        return RetryableRequestError(
            facts, status=exc.status_code, faults=fault, intuit_tid=exc.intuit_tid
        )
    return ConnectionProblem(facts)


def auth_client(settings: Settings) -> tuple[TimeoutAuthClient, threading.Lock]:
    """The process's AuthClient for these settings (built once; rebuilt after a fork)."""
    key = (
        os.getpid(),
        _environment(settings),
        settings.client_id,
        settings.client_secret,
        settings.redirect_uri,
        settings.http_timeout,
    )
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            if not settings.client_id or not settings.client_secret:
                raise ConfigurationError(
                    "QBO_SYNC_CLIENT_ID and QBO_SYNC_CLIENT_SECRET are required"
                )
            try:
                client = TimeoutAuthClient(
                    settings.client_id,
                    settings.client_secret,
                    settings.redirect_uri,
                    _environment(settings),
                    timeout=settings.http_timeout,
                )
            except AuthClientError as exc:
                raise _translate(exc, "fetching the OAuth discovery document") from exc
            except (requests.RequestException, ValueError) as exc:
                raise RetryableRequestError(
                    f"cannot fetch the OAuth discovery document: {type(exc).__name__}"
                ) from exc
            found = _clients[key] = (client, threading.Lock())
        return found


def _token_set(client: AuthClient, now: datetime | None, realm_id: str | None) -> TokenSet:
    now = now or datetime.now(UTC)
    refresh_in = getattr(client, "x_refresh_token_expires_in", None)
    hard_in = getattr(client, "x_refresh_token_hard_expires_in", None)
    tokens = TokenSet(
        access_token=str(client.access_token),
        refresh_token=str(client.refresh_token),
        access_expires_at=now + timedelta(seconds=int(client.expires_in or 3600)),
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        realm_id=realm_id,
        refresh_hard_expires_at=now + timedelta(seconds=int(hard_in)) if hard_in else None,
    )
    # Do not leave tokens on the shared object, nor one answer's expiries for the next.
    client.access_token = client.refresh_token = None
    client.x_refresh_token_expires_in = client.x_refresh_token_hard_expires_in = None
    return tokens


@contextmanager
def _intuit_call(what: str) -> Iterator[None]:
    """Intuit's errors in the plugin's words: refusals translated, network trouble retryable."""
    try:
        yield
    except AuthClientError as exc:
        raise _translate(exc, what) from exc
    except requests.RequestException as exc:
        raise RetryableRequestError(f"{what} failed: {type(exc).__name__}") from exc


def authorization_url(settings: Settings, state: str) -> str:
    """Where to send the user to connect a company (scope com.intuit.quickbooks.accounting)."""
    client, lock = auth_client(settings)
    with lock:
        return str(client.get_authorization_url(SCOPES, state_token=state))


def exchange_code(
    settings: Settings, code: str, realm_id: str, *, now: datetime | None = None
) -> TokenSet:
    """Trade the authorization code from the redirect for the first token pair."""
    client, lock = auth_client(settings)
    with lock:
        with _intuit_call("exchanging the authorization code"):
            client.get_bearer_token(code, realm_id=realm_id)
        return _token_set(client, now, realm_id)


def refresh(settings: Settings, refresh_token: str, *, now: datetime | None = None) -> TokenSet:
    """A new access token and (usually rotated) refresh token; invalid_grant: ReconnectNeeded."""
    client, lock = auth_client(settings)
    with lock:
        with _intuit_call("refreshing the access token"):
            client.refresh(refresh_token=refresh_token)
        return _token_set(client, now, None)


def revoke(settings: Settings, token: str) -> None:
    """Revoke a refresh (or access) token at Intuit: the company is disconnected."""
    client, lock = auth_client(settings)
    with lock:
        try:
            with _intuit_call("revoking the token"):
                client.revoke(token=token)
        finally:
            client.access_token = client.refresh_token = None
