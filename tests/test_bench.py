"""`python -m bench --quick`: the benchmark harness runs end to end on tiny sizes (no latency,
a fast clock) and its JSON holds every figure with sane values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import repo_root

pytestmark = pytest.mark.bench

FIGURES = (
    "throughput",
    "naive",
    "speedup_vs_naive",
    "calls_per_entity",
    "noop_resync",
    "books_check",
    "scale",
    "scale_out",
)


def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    root = repo_root()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "plugin"), str(root)])}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(FIGURES) <= set(result)
    t = result["throughput"]
    for key in (
        "entities",
        "qbo_minutes",
        "entities_per_qbo_minute",
        "ceiling_per_qbo_minute",
        "ratio_to_ceiling",
        "throttled_429",
        "emulator_ms_per_request",
    ):
        assert key in t, key
    assert t["entities"] > 0 and t["throttled_429"] == 0
    assert 0 < t["entities_per_qbo_minute"] and 0 < t["ceiling_per_qbo_minute"] <= 1660
    assert result["naive"]["entities_per_qbo_minute"] > 0 and result["speedup_vs_naive"] > 0
    assert result["calls_per_entity"]["writes"] > 0
    noop = result["noop_resync"]
    assert noop["writes"] == 0 and noop["records"] > 0 and noop["seconds"] >= 0
    assert result["books_check"]["reads"] > 0 and result["books_check"]["customers"] > 0
    sizes = result["scale"]["sizes"]
    assert len(sizes) == 2 and all(s["cpu_ms_per_record"] > 0 for s in sizes)
    assert all(s["peak_rss_mb"] > 0 for s in sizes) and result["scale"]["growth_ratio"] > 0
    out_ = result["scale_out"]
    assert out_["entities_per_qbo_minute"] > 0 and out_["worker_processes"] == 3
    assert set(out_["throttled_429"]) == {"Company A", "Company B", "Company C"}
