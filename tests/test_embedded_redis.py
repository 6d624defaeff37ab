"""The embedded Redis: started and stopped by its owner, reachable by others, nothing left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
from qbo_sync.redis_conn import EmbeddedRedis, connect


def test_embedded_server_serves_other_processes_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis.db")
    pid = server.pid
    assert pid is not None and psutil.pid_exists(pid)
    connect(server.url).set("greeting", "hello")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, redis; print(redis.Redis.from_url(sys.argv[1]).get('greeting').decode())",
            server.url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    assert out.stdout.strip() == "hello"
    server.stop()
    try:
        proc = psutil.Process(pid)
        proc.wait(timeout=5)
    except psutil.NoSuchProcess:
        pass
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
