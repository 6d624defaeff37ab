"""`python -m bench [--quick] [--only NAME]... [--time-scale S]`: run, print, write JSON."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from . import report
from .data import Shape
from .scenarios import Options, naive, scale, scale_out, throughput
from .stack import Services, make_work_dir

NAMES = (
    "throughput",
    "naive",
    "calls_per_entity",
    "noop_resync",
    "books_check",
    "scale",
    "scale_out",
)
# The sizes: one company with 1,500 customers, 2,500 sales, 3,000 receipts and
# adjustments (10% adjustments, i.e. credit memos).
THROUGHPUT = Shape(customers=1500, sales=2500, receipts=2700, adjustments=300)


# Scale data: 5 sales per customer and 1 receipt per 50 sales (every tenth an adjustment): far
# fewer than the throughput mix, so 50,000 sales fit the 10 minutes; the largest size holds the
# books check's 10,000 customers.
def scale_shape(sales: int) -> Shape:
    return Shape(sales // 5, sales, sales * 9 // 500, sales // 500)


SCALE_SALES = (10_000, 50_000)
NAIVE_FRACTION = 0.02
QUICK = 0.02  # --quick: sizes times this, no latency, a fast clock, one run each


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a smoke pass of a few seconds")
    p.add_argument("--only", action="append", choices=NAMES, help="only these figures")
    p.add_argument("--time-scale", type=float, default=None, help="emulator clock speed-up")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default results/latest.json)")
    p.add_argument("--keep", type=Path, default=None, help="keep the work folder (logs) here")
    p.add_argument("--profile", type=Path, default=None, help="run workers under cProfile")
    p.add_argument("--once", action="store_true", help="one run per figure (no median of 3)")
    p.add_argument(
        "--scale-sales",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        default=SCALE_SALES,
        help="sales per scale size, comma-separated (default 10000,50000)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C: every process is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    os.environ.setdefault("QBO_SYNC_ALLOW_EMULATOR", "1")
    os.environ.setdefault("BACKOFFICE_HTTPS", "0")
    only = set(args.only or NAMES)
    quick = args.quick
    opts = Options(
        # 6: the catch-up is bound by QuickBooks' batch limit, not by the CPU of the worker and
        # the emulator (2 cores); at 8 their work per request starts to count in QBO time.
        time_scale=args.time_scale or (50.0 if quick else 6.0),
        latency_ms=0.0 if quick else 400.0,
        quick=quick,
        repeat=not (quick or args.once),
    )
    factor = QUICK if quick else 1.0
    shape = THROUGHPUT.scaled(factor)
    # --quick: the scale sizes halved again (100 and 500 sales), to keep the smoke pass short
    sizes = [scale_shape(n).scaled(QUICK / 2 if quick else 1.0) for n in args.scale_sales]
    work, cleanup = make_work_dir(args.keep)
    services = Services(work, args.profile)
    started = time.monotonic()
    result: dict[str, Any] = {"mode": "quick" if quick else "full", "time_scale": opts.time_scale}
    try:
        if only & {"throughput", "calls_per_entity", "naive", "scale_out"}:
            result["throughput"] = throughput(services, shape, opts)
            t = result["throughput"]
            result["calls_per_entity"] = {
                "reads": round(t["reads"] / t["entities"], 4),
                "writes": round(t["writes"] / t["entities"], 4),
            }
        if "naive" in only:
            result["naive"] = naive(services, shape, opts, NAIVE_FRACTION)
            result["speedup_vs_naive"] = round(
                result["throughput"]["entities_per_qbo_minute"]
                / result["naive"]["entities_per_qbo_minute"],
                2,
            )
        if only & {"scale", "noop_resync", "books_check"}:
            s = scale(services, sizes, opts)
            result["noop_resync"] = s.pop("noop_resync")
            result["books_check"] = s.pop("books_check")
            result["scale"] = s
        if "scale_out" in only:
            rate = result["throughput"]["entities_per_qbo_minute"]
            result["scale_out"] = scale_out(services, shape, opts, rate)
    finally:
        services.stop()
        cleanup()
    result["seconds"] = round(time.monotonic() - started, 1)
    result["notes"] = notes(opts, quick)
    out = args.out or report.RESULTS / ("quick.json" if quick else "latest.json")
    report.write(result, out)
    print(report.table(result))
    print(f"written: {out}")
    return 0


def notes(opts: Options, quick: bool) -> list[str]:
    return [
        f"QuickBooks time runs {opts.time_scale:g} times faster than the wall clock in the "
        "emulator and the workers' budget (QBO_SYNC_TIME_SCALE); qbo_minutes = wall x scale / 60",
        f"naive pushes a fixed prefix ({NAIVE_FRACTION:.0%} of the customers, whole, with their "
        "sales and receipts) and its rate is measured on that prefix",
        "scale data: 5 sales per customer, 1 receipt or adjustment per 50 sales (far fewer than "
        "the throughput mix); cpu_ms_per_record leaves out a worker's start-up CPU (measured "
        "alone)",
        "noop_resync and books_check run at real QuickBooks speed: latency on, time scale 1",
        *(["--quick: tiny sizes, no latency, fast clock, one run each"] if quick else []),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
