"""The processes a scenario drives: the embedded Redis, the emulator, the host app (in this
process, on a SQLite file), and `flask qbo worker --burst` subprocesses measured by rusage.

Every wait has a deadline and names what it waited for; every process started here is stopped
(by its own handle) when its context ends."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from flask import Flask
from qbo_emulator.testing import EmulatorProcess, free_port
from qbo_sync.redis_conn import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "bench-app"
CLIENT_SECRET = "bench-app-secret"  # noqa: S105 - the local emulator's test client
REDIRECT_URI = "http://127.0.0.1:5000/admin/qbo/callback"
TOKEN_KEY = "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE="  # noqa: S105 - throwaway stores
QUEUE = "qbo_sync_bench"
HUGE = str(10**9)  # QBO_SYNC_RATE_* when the emulator runs without limits
T = TypeVar("T")


def until(what: str, condition: Callable[[], T | None], timeout: float, tick: float = 0.1) -> T:
    """Poll `condition` until it answers something true; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f} s still waiting for {what}")
        time.sleep(tick)


@dataclass
class WorkerResult:
    """One worker process, measured after it exited."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float  # user + sys of the worker process itself
    peak_rss_mb: float
    log: Path


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    started: float
    log: Path
    result: WorkerResult | None = None

    def wait(self, timeout: float) -> WorkerResult:
        """Reap the process (os.wait4: its own rusage), killing it after `timeout` seconds."""
        if self.result is not None:
            return self.result
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                os.wait4(self.proc.pid, 0)
                self.proc.returncode = -9
                raise TimeoutError(
                    f"after {timeout:.0f} s still waiting for worker {self.proc.pid} to finish "
                    f"its burst (killed; see {self.log})"
                )
            time.sleep(0.05)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.result = WorkerResult(
            returncode=self.proc.returncode,
            wall_seconds=time.monotonic() - self.started,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            log=self.log,
        )
        return self.result

    def stop(self) -> None:
        if self.result is not None or self.proc.returncode is not None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class Stack:
    """One scenario's world: its folder, emulator and app; Redis is shared and emptied."""

    folder: Path
    emu: EmulatorProcess
    app: Flask
    redis_url: str
    time_scale: float
    limits: bool
    services: Services
    profile_dir: Path | None = None
    workers: list[Worker] = field(default_factory=list)

    def worker_env(self, **settings: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugin"), str(ROOT)]),
            "DATABASE_URL": str(self.app.config["SQLALCHEMY_DATABASE_URI"]),
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench-secret",
            "QBO_SYNC_TOKEN_KEY": TOKEN_KEY,
            "QBO_SYNC_ENVIRONMENT": "emulator",
            "QBO_SYNC_ALLOW_EMULATOR": "1",
            "BACKOFFICE_HTTPS": "0",
            "QBO_SYNC_EMULATOR_URL": self.emu.base_url,
            "QBO_SYNC_CLIENT_ID": CLIENT_ID,
            "QBO_SYNC_CLIENT_SECRET": CLIENT_SECRET,
            "QBO_SYNC_REDIRECT_URI": REDIRECT_URI,
            "QBO_SYNC_QUEUE": QUEUE,
            "QBO_SYNC_TIME_SCALE": str(self.time_scale),
        }
        if not self.limits:
            env.update(
                QBO_SYNC_RATE_PER_MINUTE=HUGE,
                QBO_SYNC_RATE_PER_SECOND=HUGE,
                QBO_SYNC_BATCH_PER_MINUTE=HUGE,
                QBO_SYNC_MAX_IN_FLIGHT="10",
            )
        env.update({f"QBO_SYNC_{k.upper()}": v for k, v in settings.items()})
        return env

    def start_worker(self, label: str = "worker") -> Worker:
        """`flask --app host_app qbo worker --burst` (under cProfile with --profile)."""
        n = len(self.workers) + 1
        log = self.folder / f"{label}-{n}.log"
        cmd = [sys.executable]
        if self.profile_dir is not None:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["-m", "cProfile", "-o", str(self.profile_dir / f"{label}-{n}.prof")]
        cmd += ["-m", "flask", "--app", "host_app", "qbo", "worker", "--burst"]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.worker_env(), stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(proc, time.monotonic(), log)
        self.workers.append(worker)
        return worker

    def flask(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """A `flask --app host_app ...` command on this stack, as a user would type it."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "host_app", *args],
            cwd=ROOT,
            env=self.worker_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def realm(self, company: str) -> str:
        return self.emu.realm_ids[company]

    def entity_counts(self, company: str) -> dict[str, int]:
        return self.emu.entity_counts(self.realm(company))

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


class ProfiledEmulator(EmulatorProcess):
    """The emulator with each request profiled (bench.emuprof), written to `out` at exit."""

    def __init__(self, out: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out = out

    def command(self) -> list[str]:
        base = super().command()
        assert base[1:3] == ["-m", "qbo_emulator"], base
        return [base[0], "-m", "bench.emuprof", str(self.out), *base[3:]]


class Services:
    """What every scenario shares: one embedded Redis, a results folder, the options."""

    def __init__(self, work: Path, profile_dir: Path | None = None) -> None:
        self.work = work
        self.profile_dir = profile_dir
        self.redis = EmbeddedRedis(work / "redis" / "redis.db")
        self._count = 0
        self._startup: WorkerResult | None = None

    def startup(self, stack: Stack) -> WorkerResult:
        """A burst worker with nothing to do (measured once): its start-up CPU and memory. The
        lesser of two starts: the first may also compile the modules changed since the last
        run, which the measured workers then find compiled."""
        if self._startup is None:
            starts = [stack.start_worker("idle").wait(120) for _ in range(2)]
            self._startup = min(starts, key=lambda w: w.cpu_seconds)
        return self._startup

    def stop(self) -> None:
        self.redis.stop()

    @contextmanager
    def stack(
        self,
        name: str,
        *,
        time_scale: float,
        latency_ms: float,
        limits: bool = True,
        companies: int = 2,
    ) -> Iterator[Stack]:
        """A fresh emulator and CRM database for one scenario run (Redis emptied first)."""
        from host_app import create_app

        self._count += 1
        folder = self.work / f"{self._count:02d}-{name}"
        folder.mkdir(parents=True)
        import redis

        redis.Redis.from_url(self.redis.url).flushall()
        emu_class: Any = EmulatorProcess
        extra: dict[str, Any] = {}
        if self.profile_dir is not None:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            emu_class = ProfiledEmulator
            extra["out"] = self.profile_dir / f"emulator-{self._count:02d}-{name}.prof"
        emu = emu_class(
            **extra,
            db_path=folder / "emu.db",
            clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
            control=True,
            time_scale=time_scale,
            latency_ms=latency_ms,
            port=free_port(),
            limits=limits,
            companies=companies,
        )
        emu.start()
        stack: Stack | None = None
        try:
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'crm.db'}",
                    "REDIS_URL": self.redis.url,
                    "SECRET_KEY": "bench-secret",
                    "QBO_SYNC_TOKEN_KEY": TOKEN_KEY,
                    "QBO_SYNC_ENVIRONMENT": "emulator",
                    "QBO_SYNC_ALLOW_EMULATOR": "1",
                    "QBO_SYNC_EMULATOR_URL": emu.base_url,
                    "QBO_SYNC_CLIENT_ID": CLIENT_ID,
                    "QBO_SYNC_CLIENT_SECRET": CLIENT_SECRET,
                    "QBO_SYNC_REDIRECT_URI": REDIRECT_URI,
                    "QBO_SYNC_QUEUE": QUEUE,
                    "QBO_SYNC_TIME_SCALE": time_scale,
                },
                instance_path=folder / "instance",
            )
            stack = Stack(
                folder, emu, app, self.redis.url, time_scale, limits, self, self.profile_dir
            )
            with app.app_context():
                from flask_migrate import upgrade  # type: ignore[import-untyped]

                upgrade()
                yield stack
        finally:
            if stack is not None:
                stack.stop()
                with stack.app.app_context():
                    from crm.models import db

                    db.session.remove()
                    db.engine.dispose()
                if stack.emu is not emu:  # a scenario served the same books again
                    stack.emu.stop()
            emu.stop()


def access_token(emu: EmulatorProcess, company: str) -> str:
    """A bearer token for `company` from the emulator's OAuth code flow (for plain readers)."""
    from qbo_sync.profiles import parse_redirect

    params = parse_redirect(emu.authorize(CLIENT_ID, REDIRECT_URI, "bench", company=company))
    answer = requests.post(
        f"{emu.base_url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def make_work_dir(keep: Path | None) -> tuple[Path, Callable[[], None]]:
    """The temporary folder of one bench (removed at the end unless the caller keeps it)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep, lambda: None
    path = Path(tempfile.mkdtemp(prefix="qbo-bench-"))
    return path, lambda: shutil.rmtree(path, ignore_errors=True)


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def describe(obj: Any) -> str:
    return repr(obj)[:200]
