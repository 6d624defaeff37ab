"""Authorization codes, grants, access and refresh tokens with Intuit's lifetimes and rotation."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from .clock import Clock

ACCESS_TTL = 3600.0
REFRESH_TTL = 8726400.0
CODE_TTL = 600.0
HARD_TTL = 5 * 365 * 86400.0


class InvalidGrant(Exception):
    """The token endpoint answers 400 {"error": "invalid_grant"}."""


@dataclass
class Issued:
    access_token: str
    refresh_token: str
    refresh_expires_in: int
    hard_expires_in: int
    realm_id: str


@dataclass
class AccessInfo:
    realm_id: str
    client_id: str
    scope: str


def new_code(
    conn: sqlite3.Connection,
    clock: Clock,
    client_id: str,
    redirect_uri: str,
    realm: str,
    scope: str,
) -> str:
    code = "AB11" + secrets.token_urlsafe(30)
    conn.execute(
        "INSERT INTO auth_codes (code, client_id, redirect_uri, realm_id, scope, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (code, client_id, redirect_uri, realm, scope, clock.now() + CODE_TTL),
    )
    return code


def _issue(conn: sqlite3.Connection, clock: Clock, grant_id: str) -> Issued:
    now = clock.now()
    grant = conn.execute("SELECT * FROM grants WHERE grant_id=?", (grant_id,)).fetchone()
    access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(48)
    refresh = f"RT1-{secrets.randbelow(900) + 100}-H0-" + secrets.token_urlsafe(30)
    hard_left = grant["created_at"] + HARD_TTL - now
    refresh_ttl = min(REFRESH_TTL, hard_left)
    conn.execute(
        "INSERT INTO access_tokens (token, grant_id, expires_at) VALUES (?, ?, ?)",
        (access, grant_id, now + ACCESS_TTL),
    )
    conn.execute(
        "INSERT INTO refresh_tokens (token, grant_id, expires_at) VALUES (?, ?, ?)",
        (refresh, grant_id, now + refresh_ttl),
    )
    return Issued(access, refresh, int(refresh_ttl), int(hard_left), str(grant["realm_id"]))


def exchange_code(
    conn: sqlite3.Connection, clock: Clock, client_id: str, code: str, redirect_uri: str
) -> Issued:
    row = conn.execute("SELECT * FROM auth_codes WHERE code=?", (code,)).fetchone()
    if row is None or row["used"] or row["client_id"] != client_id:
        raise InvalidGrant("unknown or used authorization code")
    if row["expires_at"] <= clock.now() or row["redirect_uri"] != redirect_uri:
        raise InvalidGrant("expired code or redirect_uri mismatch")
    conn.execute("UPDATE auth_codes SET used=1 WHERE code=?", (code,))
    grant_id = secrets.token_hex(16)
    conn.execute(
        "INSERT INTO grants (grant_id, client_id, realm_id, scope, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (grant_id, client_id, row["realm_id"], row["scope"], clock.now()),
    )
    return _issue(conn, clock, grant_id)


def refresh(conn: sqlite3.Connection, clock: Clock, client_id: str, token: str) -> Issued:
    """Rotate: the presented token stays valid until its successor has been used once."""
    row = conn.execute(
        "SELECT r.*, g.client_id, g.revoked FROM refresh_tokens r "
        "JOIN grants g ON g.grant_id = r.grant_id WHERE r.token=?",
        (token,),
    ).fetchone()
    if row is None or row["client_id"] != client_id or row["revoked"] or row["dead"]:
        raise InvalidGrant("Incorrect or invalid refresh token")
    if row["expires_at"] <= clock.now():
        raise InvalidGrant("Token has been expired or revoked.")
    if row["successor"]:
        successor = conn.execute(
            "SELECT used FROM refresh_tokens WHERE token=?", (row["successor"],)
        ).fetchone()
        if successor is not None and successor["used"]:
            raise InvalidGrant("Incorrect or invalid refresh token")
        conn.execute("UPDATE refresh_tokens SET dead=1 WHERE token=?", (row["successor"],))
    issued = _issue(conn, clock, str(row["grant_id"]))
    conn.execute(
        "UPDATE refresh_tokens SET used=1, successor=? WHERE token=?",
        (issued.refresh_token, token),
    )
    if row["successor"] is None:
        _kill_predecessors(conn, token)
    return issued


def _kill_predecessors(conn: sqlite3.Connection, token: str) -> None:
    """Using a token for the first time ends every older token of its chain."""
    conn.execute("UPDATE refresh_tokens SET dead=1 WHERE successor=?", (token,))


def revoke(conn: sqlite3.Connection, client_id: str, token: str) -> bool:
    """Revoke the whole grant behind a refresh or access token; False if the client differs."""
    row = conn.execute(
        "SELECT grant_id FROM refresh_tokens WHERE token=? UNION "
        "SELECT grant_id FROM access_tokens WHERE token=?",
        (token, token),
    ).fetchone()
    if row is None:
        return True
    grant = conn.execute("SELECT client_id FROM grants WHERE grant_id=?", (row[0],)).fetchone()
    if grant is None or grant["client_id"] != client_id:
        return False
    conn.execute("UPDATE grants SET revoked=1 WHERE grant_id=?", (row[0],))
    return True


def check_access(conn: sqlite3.Connection, clock: Clock, token: str) -> AccessInfo | None:
    row = conn.execute(
        "SELECT a.expires_at, g.realm_id, g.client_id, g.scope, g.revoked FROM access_tokens a "
        "JOIN grants g ON g.grant_id = a.grant_id WHERE a.token=?",
        (token,),
    ).fetchone()
    if row is None or row["revoked"] or row["expires_at"] <= clock.now():
        return None
    return AccessInfo(str(row["realm_id"]), str(row["client_id"]), str(row["scope"]))


def expire_all(conn: sqlite3.Connection, refresh_too: bool) -> None:
    conn.execute("UPDATE access_tokens SET expires_at = 0")
    if refresh_too:
        conn.execute("UPDATE refresh_tokens SET expires_at = 0")
