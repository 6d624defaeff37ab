"""The chaos trials: worker processes killed mid-run and QuickBooks misbehaving, while the CRM
keeps changing; after each trial the books are settled and counted (tests/chaos/invariant.py).

Workers are real `flask qbo worker` processes (RQ ResumingWorker) on the test's database, Redis
and emulator. Every wait is on a condition with a deadline; nothing sleeps a fixed time."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync_all
from qbo_sync.models import RunStatus, SyncRun

from crm.models import db
from tests.chaos.invariant import Findings, check
from tests.chaos.mutator import Mutator
from tests.chaos.report import Report
from tests.engine.infra import until

T = TypeVar("T")
ENDED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)
_LOGS = itertools.count(1)
# What each fault kind is injected as in each company: (count, seconds); storms are several in a
# row (a call meets them one retry after another), the client retries 5 times.
FAULTS: dict[str, tuple[int, float | None]] = {
    "lose_response_after_write": (3, None),
    "drop_before_write": (3, None),
    "500": (4, None),
    "503": (4, None),
    "slow": (2, None),  # seconds: longer than the workers' HTTP timeout (set by the caller)
    "429": (4, None),
    "maintenance": (4, None),
    "504": (4, None),
    "502": (4, None),
}


class Workers:
    """Worker processes of the suite; stop() ends those still alive (only ours, by pid)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{next(_LOGS)}.log", "wb")
        cmd = [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker"]
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@dataclass
class Company:
    name: str  # the emulator's company name
    company_id: int
    segments: tuple[str, ...]


@dataclass
class Chaos:
    """One suite: the emulator, the companies, the office (mutator), the workers, the report."""

    emu: EmulatorProcess
    companies: list[Company]
    mutator: Mutator
    workers: Workers
    report: Report
    lock_seconds: int
    slow_seconds: float
    worker: subprocess.Popen[bytes] | None = None
    found: Findings = field(default_factory=Findings)

    @property
    def bound(self) -> float:
        return self.lock_seconds + 60.0

    def writes(self) -> int:
        return sum(int(self.emu.stats(r)["writes"]) for r in self.emu.realm_ids.values())

    def runs_ended(self, ids: list[int]) -> bool:
        db.session.expire_all()
        return all(db.session.get(SyncRun, i).status in ENDED for i in ids)  # type: ignore[union-attr]

    def running(self, ids: list[int]) -> bool:
        db.session.expire_all()
        return any(db.session.get(SyncRun, i).status is RunStatus.RUNNING for i in ids)  # type: ignore[union-attr]

    def jobs_of_running(self, ids: list[int]) -> dict[int, str | None]:
        db.session.expire_all()
        runs = [db.session.get(SyncRun, i) for i in ids]
        return {r.id: r.job_id for r in runs if r is not None and r.status is RunStatus.RUNNING}

    def resumed(self, dead: dict[int, str | None]) -> bool:
        """Each run the killed worker was in is taken up by another job (or has ended)."""
        db.session.expire_all()
        for run_id, job_id in dead.items():
            run = db.session.get(SyncRun, run_id)
            assert run is not None
            if run.status not in ENDED and (
                run.job_id == job_id or run.status is not RunStatus.RUNNING
            ):
                return False
        return True

    def live_worker(self) -> subprocess.Popen[bytes]:
        if self.worker is None or self.worker.poll() is not None:
            self.worker = self.workers.start()
        return self.worker

    def start_all(self) -> list[int]:
        db.session.commit()
        return [run.id for run, _ in start_sync_all()]

    def busy_until(
        self, what: str, condition: Callable[[], bool], timeout: float, edits: int = 10
    ) -> None:
        """The office keeps editing (one edit every 0.1-0.5 s, at most `edits`) until
        `condition` holds."""
        deadline = time.monotonic() + timeout
        next_edit = time.monotonic()
        while not condition():
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"after {timeout:.0f} s still waiting for {what}")
            if edits and now >= next_edit:
                self.mutator.edit()
                self.report.edits += 1
                edits -= 1
                next_edit = now + self.mutator.rng.uniform(0.1, 0.5)
            time.sleep(0.05)

    # -- trials ------------------------------------------------------------------------------

    def kill_trial(self, number: int, max_writes: int, edits_before: int) -> None:
        rng = self.mutator.rng
        self.mutator.edits(edits_before)
        self.report.edits += edits_before
        worker = self.live_worker()
        start = self.writes()
        k = rng.randint(0, max_writes)
        ids = self.start_all()
        self.busy_until(  # the run is going and has sent k writes (0: it has just started)
            f"kill trial {number}: run going with {k} writes",
            lambda: self.runs_ended(ids) or (self.running(ids) and self.writes() - start >= k),
            120,
        )
        mid_run = self.running(ids)
        dead = self.jobs_of_running(ids)  # the run(s) the worker was in
        self.workers.kill(worker)
        killed_at = time.monotonic()
        after = rng.randint(1, 5)  # the office goes on while nobody runs anything
        self.mutator.edits(after)
        self.report.edits += after
        self.worker = self.workers.start()  # a fresh worker; nobody presses anything
        resumed = finished = None
        try:
            until("the killed run to be resumed", lambda: self.resumed(dead), self.bound + 30)
            resumed = time.monotonic() - killed_at
            # A big first push ends when QuickBooks' limits let it (40 batches a minute).
            until("every run of the trial to end", lambda: self.runs_ended(ids), 600)
            finished = time.monotonic() - killed_at
        except TimeoutError as exc:
            self.report.problems.append(f"kill {number}: {exc}")
        self.report.kill(number, k, mid_run, resumed, finished, self.writes() - start)
        self.settle_and_check(f"kill {number}")

    def fault_trial(self, kind: str, edits_before: int) -> None:
        count, _ = FAULTS[kind]
        seconds = self.slow_seconds if kind == "slow" else None
        self.mutator.edits(edits_before)
        self.report.edits += edits_before
        self.live_worker()
        for realm in self.emu.realm_ids.values():
            self.emu.inject(realm, kind, count=count, seconds=seconds)
        ids = self.start_all()
        self.busy_until(f"the runs under {kind} to end", lambda: self.runs_ended(ids), 240)
        left = sum(
            f["remaining"]
            for realm in self.emu.realm_ids.values()
            for f in self.emu.pending_faults(realm)
        )
        self.report.fault(kind, count * len(self.emu.realm_ids) - left)
        self.settle_and_check(f"fault {kind}")

    def settle_and_check(self, label: str) -> None:
        """`qbo sync --all --wait` once the office stopped editing, then count the books."""
        for realm in self.emu.realm_ids.values():
            self.emu.clear_faults(realm)
        self.live_worker()
        settle = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "sync", "--all", "--wait"],
            env=self.workers.env,
            capture_output=True,
            text=True,
            timeout=self.bound + 120,
            check=False,
        )
        if settle.returncode != 0:
            self.report.problems.append(f"{label}: settling run: {settle.stdout[-800:]}")
        found = Findings()
        for company in self.companies:
            found.add(check(self.emu, company.name, company.company_id, company.segments))
        self.found.add(found)
        self.report.trial_found(label, found)
        print(self.report.trials[-1] | {"seconds": round(time.monotonic() - self.report.started)})
