"""The benchmark's output: a table on stdout and the whole result as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")


def _row(name: str, value: Any, note: str = "") -> str:
    return f"  {name:<38} {value!s:>14}  {note}"


def table(result: dict[str, Any]) -> str:
    out = [f"qbo_sync benchmark ({result['mode']}, {result['seconds']:.0f} s in all)"]
    t = result.get("throughput")
    if t:
        out.append(
            f"throughput: one company from empty, time scale {t['time_scale']}, "
            f"latency {t['latency_ms']:.0f} ms, runs: {t['runs']}"
        )
        out.append(_row("entities", t["entities"], str(t["crm"])))
        out.append(
            _row("qbo_minutes", t["qbo_minutes"], f"wall {t['wall_seconds']} s x scale / 60")
        )
        out.append(_row("entities_per_qbo_minute", t["entities_per_qbo_minute"]))
        out.append(_row("ceiling_per_qbo_minute", t["ceiling_per_qbo_minute"]))
        out.append(f"    {t['ceiling_arithmetic']}")
        out.append(_row("ratio_to_ceiling", t["ratio_to_ceiling"]))
        out.append(_row("throttled_429", t["throttled_429"]))
        out.append(_row("emulator_ms_per_request", t["emulator_ms_per_request"]))
        out.append(f"    bound by: {t['bound_by']}")
    n = result.get("naive")
    if n:
        out.append(f"naive (python-quickbooks, one save per record), runs: {n['runs']}")
        out.append(_row("records pushed", n["records"], n["prefix"]))
        out.append(_row("entities_per_qbo_minute", n["entities_per_qbo_minute"]))
        out.append(_row("qbo_seconds_per_record", n["qbo_seconds_per_record"]))
        out.append(_row("emulator_ms_per_request", n["emulator_ms_per_request"]))
    if "speedup_vs_naive" in result:
        out.append(_row("speedup_vs_naive", result["speedup_vs_naive"]))
    c = result.get("calls_per_entity")
    if c:
        out.append("calls_per_entity (throughput run)")
        out.append(_row("reads", c["reads"]))
        out.append(_row("writes", c["writes"], "a batch is one write request"))
    z = result.get("noop_resync")
    if z:
        out.append(f"noop_resync (latency {z['latency_ms']:.0f} ms, time scale 1)")
        for key in ("records", "writes", "reads", "seconds", "job_seconds"):
            out.append(_row(key, z[key]))
    b = result.get("books_check")
    if b:
        out.append(f"books_check (`flask qbo reconcile`, latency {b['latency_ms']:.0f} ms)")
        for key in ("customers", "reads", "seconds"):
            out.append(_row(key, b[key]))
    s = result.get("scale")
    if s:
        out.append("scale (latency and limits off)")
        for size in s["sizes"]:
            out.append(
                _row(
                    f"{size['sales']} sales",
                    f"{size['cpu_ms_per_record']} ms",
                    f"CPU per record; peak {size['peak_rss_mb']} MB; {size['records']} records "
                    f"in {size['wall_seconds']} s",
                )
            )
        out.append(_row("growth_ratio", s["growth_ratio"], "per-record CPU, largest / smallest"))
    o = result.get("scale_out")
    if o:
        out.append(f"scale_out (3 companies, 3 workers), runs: {o['runs']}")
        out.append(_row("entities_per_qbo_minute", o["entities_per_qbo_minute"], "aggregate"))
        out.append(_row("ratio_to_one_company", o["ratio_to_one_company"]))
        out.append(_row("throttled_429", json.dumps(o["throttled_429"])))
        out.append(_row("workers_total_peak_rss_mb", o["workers_total_peak_rss_mb"]))
        out.append(f"    bound by: {o['bound_by']}")
    for note in result.get("notes", []):
        out.append(f"note: {note}")
    return "\n".join(out)
