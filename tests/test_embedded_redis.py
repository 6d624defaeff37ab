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


def test_embedded_server_files_are_the_owners_alone_and_it_stops_with_a_client_connected(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis.db")
    client = connect(server.url)
    client.set("greeting", "hello")
    client.save()  # the data file exists too
    pid = server.pid
    server.stop()  # while `client` is still connected
    assert pid is not None and not psutil.pid_exists(pid)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "redis.db" for p in files)
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
