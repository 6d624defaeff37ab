"""A company's tokens in the database: valid access tokens on demand, refreshed under a Redis lock.

Every worker on every machine may hold a CompanyTokens for the same company. Only one refreshes at
a time (per-company lock in Redis); the others then find the fresh token in the database. The
rotated refresh token is committed the moment it arrives, so no worker ever refreshes with a
token Intuit has already replaced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
import sqlalchemy as sa
from redis.exceptions import LockError
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import ConnectionProblem, ReconnectNeeded, RetryableRequestError, TokenUnreadable
from ..models import Company
from . import oauth
from .oauth import TokenSet
from .tokens import TokenCipher

log = logging.getLogger(__name__)

Refresher = Callable[[Settings, str], TokenSet]


def apply_token_set(company: Company, tokens: TokenSet, cipher: TokenCipher) -> None:
    """Store a token pair on the company, encrypted (the caller commits)."""
    company.access_token_enc = cipher.encrypt(tokens.access_token)
    company.access_token_expires_at = tokens.access_expires_at
    company.refresh_token_enc = cipher.encrypt(tokens.refresh_token)
    if tokens.refresh_expires_at is not None:
        company.refresh_token_expires_at = tokens.refresh_expires_at
    if tokens.refresh_hard_expires_at is not None:
        company.refresh_token_hard_expires_at = tokens.refresh_hard_expires_at
    company.reconnect_needed = False


def mark_unreadable(session: Session, cipher: TokenCipher | None) -> set[int]:
    """The ids of companies whose stored tokens no configured key opens; each is marked
    reconnect needed (committed), so runs stop cleanly and the page says so. No cipher (no
    usable QBO_SYNC_TOKEN_KEY): none can be read."""
    unreadable: set[int] = set()
    for company in session.scalars(
        sa.select(Company).where(Company.refresh_token_enc.is_not(None))
    ):
        stored = [company.refresh_token_enc, company.access_token_enc]
        if cipher is not None and all(cipher.readable(enc) for enc in stored if enc):
            continue
        unreadable.add(company.id)
        if not company.reconnect_needed:
            company.reconnect_needed = True
            log.warning("company %s: stored tokens unreadable with the configured key", company.id)
    if session.dirty:
        session.commit()
    return unreadable


def rotate_tokens(session: Session, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token under the cipher's first key, in one transaction; how many
    tokens were rewritten. TokenUnreadable (nothing written) if any token opens with no key."""
    rewritten = 0
    try:
        for company in session.scalars(sa.select(Company).order_by(Company.id)):
            if company.access_token_enc:
                company.access_token_enc = cipher.rotate(company.access_token_enc)
                rewritten += 1
            if company.refresh_token_enc:
                company.refresh_token_enc = cipher.rotate(company.refresh_token_enc)
                rewritten += 1
    except TokenUnreadable:
        session.rollback()
        raise
    session.commit()
    return rewritten


class CompanyTokens:
    """The token source a QBOClient uses for one company: `access_token()` and `refresh_now()`."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        company_id: int,
        settings: Settings,
        redis_conn: redis.Redis,
        *,
        key_prefix: str = "qbo_sync",
        min_validity: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresher: Refresher | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.company_id = company_id
        self._settings = settings
        self._redis = redis_conn
        self._prefix = key_prefix
        self._min_validity = min_validity
        self._clock = clock
        self._refresher: Refresher = refresher or oauth.refresh
        self._cipher = TokenCipher.from_settings(settings)
        self._mutex = threading.Lock()
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._realm_id: str | None = None
        self.refreshes = 0  # refresh calls this object made at the token endpoint

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at - self._clock() > self._min_validity

    def _remember(self, token: str, expires_at: datetime | None) -> str:
        with self._mutex:
            self._token, self._expires_at = token, expires_at
        return token

    def _decrypt(self, session: Session, company: Company, token_enc: str) -> str:
        try:
            return self._cipher.decrypt(token_enc)
        except TokenUnreadable:
            company.reconnect_needed = True
            session.commit()
            log.warning("company %s: stored token unreadable, reconnect needed", self.company_id)
            raise

    def _load(self, session: Session) -> Company:
        company = session.get(Company, self.company_id, populate_existing=True)
        if company is None:
            raise ConnectionProblem(f"QuickBooks company {self.company_id} is not known here")
        self._realm_id = company.realm_id
        if company.reconnect_needed:
            raise ReconnectNeeded(f"company {company.realm_id} must be connected again")
        if not company.refresh_token_enc:
            raise ConnectionProblem(f"company {company.realm_id} is not connected to QuickBooks")
        return company

    def access_token(self) -> str:
        """A token valid for more than `min_validity` (5 minutes), refreshing when needed."""
        with self._mutex:
            if self._token and self._fresh(self._expires_at):
                return self._token
        with self._session_factory() as session:
            company = self._load(session)
            if company.access_token_enc and self._fresh(company.access_token_expires_at):
                token = self._decrypt(session, company, company.access_token_enc)
                return self._remember(token, company.access_token_expires_at)
        return self.refresh_now()

    def _lock_name(self) -> str:
        company = self._realm_id or f"company-{self.company_id}"
        return f"{self._prefix}:lock:token-refresh:{company}"

    def refresh_now(self, rejected: str | None = None) -> str:
        """Refresh now (after a 401), unless another worker already replaced the rejected token.

        `rejected` is the token QuickBooks refused (default: the last one handed out). Under the
        company's Redis lock the company is read again: when its access token differs from the
        rejected one and is still fresh, it is returned without a refresh.
        """
        with self._mutex:
            rejected = rejected if rejected is not None else self._token
        if self._realm_id is None:
            with self._session_factory() as session:
                self._load(session)
        lock_timeout = self._settings.http_timeout * 2 + 10
        lock = self._redis.lock(
            self._lock_name(), timeout=lock_timeout, blocking_timeout=lock_timeout + 5
        )
        if not lock.acquire():
            raise RetryableRequestError("timed out waiting for another worker's token refresh")
        try:
            return self._refresh_locked(rejected)
        finally:
            try:
                lock.release()
            except LockError:
                log.warning("token refresh lock of company %s expired early", self.company_id)

    def _refresh_locked(self, rejected: str | None) -> str:
        with self._session_factory() as session:
            company = self._load(session)
            if company.access_token_enc and self._fresh(company.access_token_expires_at):
                current = self._decrypt(session, company, company.access_token_enc)
                if current != rejected:
                    return self._remember(current, company.access_token_expires_at)
            refresh_token = self._decrypt(session, company, str(company.refresh_token_enc))
            try:
                tokens = self._refresher(self._settings, refresh_token)
            except ReconnectNeeded:
                company.reconnect_needed = True
                session.commit()
                log.warning("company %s: refresh token refused, reconnect needed", self.company_id)
                raise
            finally:
                self.refreshes += 1
            apply_token_set(company, tokens, self._cipher)
            session.commit()
            log.info("company %s: access token refreshed", self.company_id)
            return self._remember(tokens.access_token, tokens.access_expires_at)
