"""SQLite state shared by every process: WAL mode, short BEGIN IMMEDIATE write transactions."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .repo import lookup_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT NOT NULL, secret TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    PRIMARY KEY (client_id, redirect_uri));
CREATE TABLE IF NOT EXISTS realms (
    realm_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    realm_id TEXT NOT NULL, scope TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS grants (
    grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, realm_id TEXT NOT NULL,
    scope TEXT NOT NULL, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY, grant_id TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, successor TEXT, dead INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY, grant_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    realm_id TEXT NOT NULL, kind TEXT NOT NULL, id INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT '', customer_id TEXT, updated_epoch REAL NOT NULL,
    body TEXT NOT NULL, lookup TEXT, PRIMARY KEY (realm_id, kind, id));
DROP INDEX IF EXISTS entities_customer;
CREATE INDEX IF NOT EXISTS entities_customer_kind ON entities (realm_id, customer_id, kind);
CREATE INDEX IF NOT EXISTS entities_lookup ON entities (realm_id, lookup);
CREATE TABLE IF NOT EXISTS sequences (
    realm_id TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (realm_id, name));
CREATE TABLE IF NOT EXISTS company_settings (
    realm_id TEXT PRIMARY KEY, automated_sales_tax INTEGER NOT NULL,
    book_close_date TEXT, ast_rate TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replies (
    realm_id TEXT NOT NULL, request_id TEXT NOT NULL, status INTEGER NOT NULL,
    content_type TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (realm_id, request_id));
"""


class Store:
    """One SQLite file, a connection per thread, writes serialised in and across processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        conn = self.connection()
        conn.execute("PRAGMA journal_mode=WAL")
        with self._write_lock:
            _add_lookup_column(conn)
            conn.executescript(SCHEMA)

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close_thread_connection(self) -> None:
        """Close this thread's connection (werkzeug serves every request on a fresh thread)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A short serialised write transaction (BEGIN IMMEDIATE)."""
        with self._write_lock:
            conn = self.connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


def _add_lookup_column(conn: sqlite3.Connection) -> None:
    """A database from an emulator before the `lookup` column gets it, filled from the bodies."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(entities)")}
    if not columns or "lookup" in columns:
        return  # a new database (SCHEMA creates it whole) or one that has it
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ALTER TABLE entities ADD COLUMN lookup TEXT")
    rows = conn.execute("SELECT realm_id, kind, id, body FROM entities").fetchall()
    for realm_id, kind, entity_id, body in rows:
        key = lookup_key(str(kind), json.loads(body))
        if key is not None:
            conn.execute(
                "UPDATE entities SET lookup=? WHERE realm_id=? AND kind=? AND id=?",
                (key, realm_id, kind, entity_id),
            )
    conn.execute("COMMIT")
