"""Files only the owner may read (the instance folder, secrets, demo credentials, the SQLite
database), created that way from the start; secrets created once even by racing processes."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create the folder 0700, or tighten it to 0700 when it exists with looser permissions."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(PRIVATE_DIR)


def write_private(path: Path, text: str) -> None:
    """Write a 0600 file (an existing file is truncated and tightened to 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def create_once(path: Path, make: Callable[[], str]) -> str:
    """The secret in `path`, made by `make()` when the file does not exist yet.

    The new file is written whole under a temporary name, then hard-linked to its final name,
    which fails when another process got there first: every process ends with the winner's text.
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won: read its key below
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def precreate_sqlite(uri: str) -> None:
    """Create a SQLite database file 0600 before SQLite opens it (its -wal and -shm files take
    the database's permissions); other databases and in-memory SQLite are left alone."""
    url = sa.make_url(uri)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:") or url.query.get("uri"):
        return  # a SQLite URI filename: SQLite parses it, not us
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)
