"""The OAuth `state` of "Setup Authentication": single use, bound to the browser session and to
one profile, valid QBO_SYNC_OAUTH_STATE_SECONDS (10 minutes); and the connection waiting for
"connect a different company".

The Flask session (a signed cookie) says which states this browser was given; Redis says which
are still unused, so an old cookie replayed with an old callback URL is refused too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import redis
from flask import session

from .connection import TokenCipher
from .errors import QBOSyncError, TokenUnreadable

STATE_SECONDS = 600  # the default of QBO_SYNC_OAUTH_STATE_SECONDS
SESSION_STATES = "qbo_sync_oauth_states"
SESSION_USED = "qbo_sync_oauth_used"
SESSION_PENDING = "qbo_sync_pending_connection"
MAX_STATES = 5


class StateProblem(QBOSyncError):
    """The callback's state cannot be accepted; the message says why, in plain words."""


class StateUsed(StateProblem):
    """The state was used already: a replay, or the same answer arriving twice."""


def _duration(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def _state_key(digest: str) -> str:
    return f"qbo_sync:oauth-state:{digest}"


def issue_state(
    profile_id: int, conn: redis.Redis, ttl: int = STATE_SECONDS, now: float | None = None
) -> str:
    """A fresh state for connecting this profile, valid `ttl` seconds, remembered in the
    session (with its expiry and its lifetime) and in Redis."""
    now = time.time() if now is None else now
    state = secrets.token_urlsafe(24)
    digest = _digest(state)
    states = {
        k: v
        for k, v in dict(session.get(SESSION_STATES) or {}).items()
        if isinstance(v, dict) and float(v.get("exp", 0)) > now
    }
    states[digest] = {"profile": int(profile_id), "exp": now + ttl, "ttl": ttl}
    newest = sorted(states.items(), key=lambda kv: kv[1]["exp"])[-MAX_STATES:]
    session[SESSION_STATES] = dict(newest)
    conn.set(_state_key(digest), str(profile_id), ex=ttl)
    return state


def consume_state(state: str, conn: redis.Redis, now: float | None = None) -> int:
    """The profile id the state was issued for; the state is used up either way.

    Raises StateProblem when the state is missing, forged or expired; StateUsed when it was
    used already.
    """
    now = time.time() if now is None else now
    if not state:
        raise StateProblem(
            "QuickBooks sent the browser back without the connection attempt's state."
        )
    digest = _digest(state)
    states = dict(session.get(SESSION_STATES) or {})
    entry = states.pop(digest, None)
    used = list(session.get(SESSION_USED) or [])
    if entry is None:
        if digest in used:
            raise StateUsed(
                "This connection attempt was already completed; it cannot be used twice."
            )
        raise StateProblem(
            "This answer from QuickBooks does not belong to a connection attempt started in "
            "this browser session."
        )
    session[SESSION_STATES] = states
    session[SESSION_USED] = [*used, digest][-MAX_STATES * 2 :]
    unused = conn.delete(_state_key(digest)) == 1
    if float(entry.get("exp", 0)) <= now:
        ttl = int(entry.get("ttl", STATE_SECONDS))
        raise StateProblem(f"This connection attempt expired (after {_duration(ttl)}).")
    if not unused:
        raise StateUsed("This connection attempt was already completed; it cannot be used twice.")
    return int(entry["profile"])


@dataclass(frozen=True)
class PendingConnection:
    """An authorization for a company other than the profile's, waiting for the user's yes."""

    token: str
    profile_id: int
    realm_id: str
    code: str


PENDING_PREFIX = "qbo_sync:pending-connection:"


def _pending_key(token: str) -> str:
    return f"{PENDING_PREFIX}{_digest(token)}"


def hold_connection(
    profile_id: int, realm_id: str, code: str, conn: redis.Redis, cipher: TokenCipher
) -> str:
    """Keep the authorization code (encrypted, in Redis, 10 minutes) until the user confirms."""
    token = secrets.token_urlsafe(24)
    body = {"profile": int(profile_id), "realm": realm_id, "code": cipher.encrypt(code)}
    conn.set(_pending_key(token), json.dumps(body), ex=STATE_SECONDS)
    session[SESSION_PENDING] = token
    return token


def _parse(token: str, raw: Any, cipher: TokenCipher) -> PendingConnection | None:
    if not raw:
        return None
    body = json.loads(raw)
    try:
        code = cipher.decrypt(body["code"])
    except TokenUnreadable:  # held under a key that was removed since: start again
        return None
    return PendingConnection(token, int(body["profile"]), str(body["realm"]), code)


def rotate_pending(conn: redis.Redis, cipher: TokenCipher) -> int:
    """Re-encrypt the held authorization codes under the first key (their expiry kept)."""
    rewritten = 0
    for key in conn.scan_iter(match=f"{PENDING_PREFIX}*"):
        raw: Any = conn.get(key)
        ttl = int(cast(Any, conn.pttl(key)))
        if not raw or ttl <= 0:
            continue
        body = json.loads(raw)
        try:
            body["code"] = cipher.rotate(body["code"])
        except TokenUnreadable:
            conn.delete(key)  # nobody can use it any more
            continue
        conn.set(key, json.dumps(body), px=ttl)
        rewritten += 1
    return rewritten


def peek_connection(conn: redis.Redis, cipher: TokenCipher) -> PendingConnection | None:
    """The connection this browser session is asked to confirm, if any (still unused)."""
    token = session.get(SESSION_PENDING)
    if not token:
        return None
    return _parse(str(token), conn.get(_pending_key(str(token))), cipher)


def take_connection(token: str, conn: redis.Redis, cipher: TokenCipher) -> PendingConnection | None:
    """Use up the pending connection if `token` is this session's; None when it is not."""
    mine = session.pop(SESSION_PENDING, None)
    if not token or not mine or not secrets.compare_digest(str(mine), token):
        return None
    pipe = conn.pipeline()
    pipe.get(_pending_key(token))
    pipe.delete(_pending_key(token))
    raw, _ = pipe.execute()
    return _parse(token, raw, cipher)
