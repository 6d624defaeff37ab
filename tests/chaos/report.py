"""The chaos suite's figures: trials, faults met per kind, duplicates, records lost, recovery
time after each kill; printed as a table and written as JSON for the README."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.invariant import Findings


@dataclass
class Kill:
    trial: int
    after_writes: int  # the kill came once the run had sent this many writes
    mid_run: bool  # a run was going when the worker died
    recovery_seconds: float | None  # kill -> its run taken up by a fresh worker; None: never
    finished_seconds: float | None  # kill -> every run of the trial ended
    writes: int


@dataclass
class Report:
    seed: int
    size: dict[str, int]
    settings: dict[str, str]
    lock_seconds: int
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    faults_met: dict[str, int] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    edits: int = 0
    emulator: dict[str, Any] = field(default_factory=dict)
    final_run_writes: int | None = None

    def kill(
        self,
        trial: int,
        after: int,
        mid_run: bool,
        recovery: float | None,
        finished: float | None,
        writes: int,
    ) -> None:
        self.kills.append(Kill(trial, after, mid_run, recovery, finished, writes))

    def fault(self, kind: str, met: int) -> None:
        self.faults_met[kind] = self.faults_met.get(kind, 0) + met

    def trial_found(self, label: str, found: Findings) -> None:
        self.trials.append(
            {
                "trial": label,
                "checked": found.checked,
                "duplicates": len(found.duplicates),
                "lost": len(found.lost),
                "stray": len(found.stray),
                "wrong": len(found.wrong),
                "listed_failed_or_blocked": len(found.listed),
                "examples": (found.duplicates + found.lost + found.stray + found.wrong)[:5],
            }
        )

    def summary(self) -> dict[str, Any]:
        times = [k.recovery_seconds for k in self.kills if k.recovery_seconds is not None]
        ends = [k.finished_seconds for k in self.kills if k.finished_seconds is not None]
        bound = self.lock_seconds + 60
        return {
            "seed": self.seed,
            "crm": self.size,
            "settings": self.settings,
            "trials": {"kill": len(self.kills), "fault": len(self.faults_met)},
            "kills_mid_run": sum(k.mid_run for k in self.kills),
            "faults_met": self.faults_met,
            "emulator": self.emulator,
            "crm_edits": self.edits,
            "duplicates": sum(t["duplicates"] for t in self.trials),
            "lost": sum(t["lost"] for t in self.trials),
            "stray": sum(t["stray"] for t in self.trials),
            "wrong": sum(t["wrong"] for t in self.trials),
            "listed_failed_or_blocked": sum(t["listed_failed_or_blocked"] for t in self.trials),
            "recovery_seconds": {
                "each": [k.recovery_seconds for k in self.kills],
                "min": min(times) if times else None,
                "median": statistics.median(times) if times else None,
                "max": max(times) if times else None,
                "bound": bound,
                "not_recovered": sum(k.recovery_seconds is None for k in self.kills),
            },
            "finished_seconds": {
                "each": [k.finished_seconds for k in self.kills],
                "median": statistics.median(ends) if ends else None,
                "max": max(ends) if ends else None,
                "not_finished": sum(k.finished_seconds is None for k in self.kills),
            },
            "final_run_writes": self.final_run_writes,
            "problems": self.problems,
            "total_seconds": round(time.monotonic() - self.started, 1),
            "kill_trials": [asdict(k) for k in self.kills],
            "per_trial": self.trials,
        }

    def write(self, path: Path) -> dict[str, Any]:
        data = self.summary()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # instance/ is private
        path.write_text(json.dumps(data, indent=2) + "\n")
        return data

    def table(self, path: Path) -> str:
        s = self.summary()
        r = s["recovery_seconds"]

        def sec(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f} s"

        faults = ", ".join(f"{k} {v}" for k, v in s["faults_met"].items()) or "-"
        by_status = s["emulator"].get("by_status", {})
        lines = [
            "",
            f"== chaos suite (CHAOS_SEED={s['seed']}) ==",
            f"CRM: {', '.join(f'{k} {v}' for k, v in s['crm'].items())}",
            f"trials run: {s['trials']['kill']} kill ({s['kills_mid_run']} mid-run), "
            f"{s['trials']['fault']} fault kinds; CRM edits during the suite: {s['crm_edits']}",
            f"faults met (injected and hit): {faults}",
            f"emulator: dropped {s['emulator'].get('dropped', 0)}, "
            f"replays {s['emulator'].get('replays', 0)}, by status {by_status}",
            f"duplicates found: {s['duplicates']}",
            f"records lost: {s['lost']}",
            f"stray live documents: {s['stray']}; wrong amounts/balances: {s['wrong']}; "
            f"listed failed/blocked: {s['listed_failed_or_blocked']}",
            "recovery after each kill (a fresh worker takes the run up): "
            f"min {sec(r['min'])}, median {sec(r['median'])}, "
            f"max {sec(r['max'])} (bound: run lock + 60 s = {r['bound']} s; "
            f"not recovered: {r['not_recovered']})",
            "  each: " + ", ".join(sec(t) for t in r["each"]),
            f"kill -> every run of the trial ended: median {sec(s['finished_seconds']['median'])}, "
            f"max {sec(s['finished_seconds']['max'])}",
            f"writes of a last run with nothing changed: {s['final_run_writes']}",
            f"problems: {len(s['problems'])}",
            *(f"  {p}" for p in s["problems"][:10]),
            f"total time: {s['total_seconds']} s; report: {path}",
        ]
        return "\n".join(lines)
