"""The benchmark's scenarios, each driving the product from the outside: CRM rows in, profiles
connected through the public helpers, runs queued with `start_company_sync`, burst workers,
and the emulator's statistics (HTTP control API) and run rows read back."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_company_sync
from qbo_sync.models import RunStatus, SyncProfile, SyncRun
from qbo_sync.profiles import complete_connection, get_or_create_profile, parse_redirect

from crm.models import db
from crm.seed import SEGMENTS

from .data import Shape, generate
from .stack import CLIENT_ID, REDIRECT_URI, Services, Stack, WorkerResult, until

# What QuickBooks enforces per company (and the emulator with it): 500 requests a minute, of
# which at most 40 batches of 30 (per app); the rest are single requests.
PER_MINUTE, BATCH_PER_MINUTE, BATCH_SIZE = 500, 40, 30
WRITE_CEILING = BATCH_PER_MINUTE * BATCH_SIZE + (PER_MINUTE - BATCH_PER_MINUTE)  # 1,660
WRITTEN_KINDS = ("Customer", "Item", "PaymentMethod", "Invoice", "Payment", "CreditMemo")
ENDED = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)
COMPANIES = ("Company A", "Company B", "Company C")
RUN_DEADLINE = 600.0


@dataclass
class Options:
    time_scale: float = 8.0
    latency_ms: float = 400.0
    quick: bool = False
    repeat: bool = True  # the median of 3 where a run takes under a minute
    notes: list[str] = field(default_factory=list)


def seconds_between(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds()


def connect(stack: Stack, segment: str | None, company: str) -> SyncProfile:
    """A profile (a segment, or all segments) connected to an emulated company, as the
    admin page's Setup Authentication does (the consent page driven like a browser)."""
    session = db.session()
    profile = get_or_create_profile(session, segment)
    params = parse_redirect(stack.emu.authorize(CLIENT_ID, REDIRECT_URI, "bench", company=company))
    return complete_connection(
        session, profile, params["code"], params["realmId"], allow_other_company=True
    )


@dataclass
class CatchUp:
    """One or more runs (one per company) worked by burst workers, measured."""

    runs: list[SyncRun]
    workers: list[WorkerResult]
    emulator: dict[str, dict[str, Any]]  # company -> /_emulator/stats
    written: dict[str, dict[str, int]]  # company -> kind -> documents created
    job_seconds: float  # from queueing the runs until the last worker exited
    emulator_cpu_seconds: float
    startup_cpu_seconds: float  # of one worker doing nothing (left out of its CPU use)
    limits: bool

    @property
    def worker_run_cpu(self) -> float:
        return sum(max(w.cpu_seconds - self.startup_cpu_seconds, 0.0) for w in self.workers)

    @property
    def entities(self) -> int:
        return sum(sum(w.values()) for w in self.written.values())

    @property
    def run_seconds(self) -> float:
        """From the first run's start to the last run's end (each row's own stamps)."""
        starts = [r.started_at for r in self.runs if r.started_at]
        ends = [r.ended_at for r in self.runs if r.ended_at]
        return seconds_between(min(starts), max(ends)) if starts and ends else 0.0

    def total(self, key: str) -> int:
        return sum(int(s.get(key, 0)) for s in self.emulator.values())

    @property
    def emulator_ms_per_request(self) -> float:
        handled = self.total("handled")
        ms = sum(float(s.get("handler_ms_total", 0)) for s in self.emulator.values())
        return round(ms / handled, 3) if handled else 0.0


def sync(stack: Stack, companies: list[str], workers: int = 1, label: str = "worker") -> CatchUp:
    """Queue one run per company, let `workers` burst workers take them, measure."""
    startup = stack.services.startup(stack).cpu_seconds
    realms = [stack.realm(c) for c in companies]
    for realm in realms:
        stack.emu.reset_stats(realm)
    before = {c: stack.entity_counts(c) for c in companies}
    emu_proc = psutil.Process(stack.emu.process.pid) if stack.emu.process else None
    emu_cpu0 = sum(emu_proc.cpu_times()[:2]) if emu_proc else 0.0
    db.session.commit()
    started = time.monotonic()
    run_ids = []
    for company in companies:
        profile = db.session.scalars(
            db.select(SyncProfile).where(SyncProfile.company.has(realm_id=stack.realm(company)))
        ).first()
        assert profile is not None and profile.company is not None, company
        run, new = start_company_sync(profile.company, profile)
        if not new:
            raise RuntimeError(f"a run of {company} was already on its way")
        run_ids.append(run.id)
    procs = [stack.start_worker(label) for _ in range(workers)]
    results = [p.wait(RUN_DEADLINE) for p in procs]
    job_seconds = time.monotonic() - started
    emu_cpu = (sum(emu_proc.cpu_times()[:2]) - emu_cpu0) if emu_proc else 0.0

    def ended() -> list[SyncRun] | None:
        db.session.expire_all()
        runs = [r for r in (db.session.get(SyncRun, i) for i in run_ids) if r is not None]
        return runs if len(runs) == len(run_ids) and all(r.status in ENDED for r in runs) else None

    runs = until(f"runs {run_ids} to end (workers exited)", ended, 30)
    for run in runs:
        if run.status is not RunStatus.SUCCEEDED:
            logs = "; ".join(str(w.log) for w in results)
            raise RuntimeError(
                f"run {run.id} of {run.realm_id} ended {run.status}: {run.message} "
                f"{run.problems} (logs: {logs})"
            )
    after = {c: stack.entity_counts(c) for c in companies}
    written = {
        c: {k: after[c].get(k, 0) - before[c].get(k, 0) for k in WRITTEN_KINDS} for c in companies
    }
    emulator = {c: stack.emu.stats(stack.realm(c)) for c in companies}
    return CatchUp(runs, results, emulator, written, job_seconds, emu_cpu, startup, stack.limits)


def batches_per_qbo_minute(c: CatchUp, scale: float) -> float:
    minutes = c.run_seconds * scale / 60
    batches = sum(int(s.get("by_entity", {}).get("batch", 0)) for s in c.emulator.values())
    return batches / len(c.emulator) / minutes if minutes else 0.0


def bound_by(
    c: CatchUp, ratio_to_ceiling: float | None, workers: int = 1, scale: float = 1.0
) -> str:
    """What limited the figure, from the evidence: CPU use of the worker(s) and of the emulator
    (2 cores in all), and how near the run came to QuickBooks' ceiling."""
    wall = max(c.run_seconds, 1e-9)
    worker_util = c.worker_run_cpu / wall
    emu_util = c.emulator_cpu_seconds / wall
    batch_rate = batches_per_qbo_minute(c, scale) if c.limits else 0.0
    minutes = c.run_seconds * scale / 60.0
    request_rate = c.total("requests") / len(c.emulator) / minutes if c.limits and minutes else 0.0
    single_rate = max(request_rate - batch_rate, 0.0)
    parts = [
        f"worker CPU {worker_util:.0%} of a core",
        f"emulator CPU {emu_util:.0%}",
        f"{batch_rate:.1f} batches and {single_rate:.0f} other requests per QBO minute per company",
    ]
    if batch_rate >= 0.9 * BATCH_PER_MINUTE and request_rate >= 0.85 * PER_MINUTE:
        verdict = (
            f"QuickBooks' limits: its {BATCH_PER_MINUTE} batches a minute nearly all used, and "
            f"the single requests beside them fill most of the other "
            f"{PER_MINUTE - BATCH_PER_MINUTE}; what is left is the time between a run's stages "
            "(a chunk is planned while nothing is in flight)"
        )
    elif batch_rate >= 0.9 * BATCH_PER_MINUTE:
        verdict = (
            f"QuickBooks' batch limit ({BATCH_PER_MINUTE} batches a minute per company), with "
            f"only {single_rate:.0f} of the other {PER_MINUTE - BATCH_PER_MINUTE} requests a "
            "minute used beside it"
        )
    elif batch_rate >= 0.75 * BATCH_PER_MINUTE:
        verdict = (
            f"mostly QuickBooks' batch limit ({batch_rate:.0f} of {BATCH_PER_MINUTE} batches a "
            "minute used); the rest is CPU: the writer waits for each reply, and "
            f"{workers} worker(s) and the emulator share 2 cores"
        )
    elif ratio_to_ceiling is not None and ratio_to_ceiling >= 0.85:
        verdict = "QuickBooks' limits (near the ceiling)"
    elif worker_util + emu_util >= 1.7:
        verdict = "CPU (both cores busy)"
    elif worker_util >= 0.85 * workers:
        verdict = "the worker's CPU"
    elif emu_util >= 0.85:
        verdict = "the emulator's CPU"
    elif c.total("throttled_429"):
        verdict = "QuickBooks' limits (429s answered)"
    elif worker_util + emu_util >= 0.85 * workers:
        verdict = (
            "CPU in series: the worker's, then the emulator's handling of each request "
            "(the writer waits for every reply before it goes on)"
        )
    else:
        verdict = "latency: requests one after another (the writer waits for each reply)"
    return f"{verdict}; {', '.join(parts)}"


def median_of(
    runs: int, one: Callable[[], dict[str, Any]], key: str, opts: Options
) -> dict[str, Any]:
    """The run whose `key` is the median (its other figures with it, so ratios stay within one
    run); 3 runs when the first took under a minute and repeats are on, else 1."""
    first = one()
    results = [first]
    if opts.repeat and first["wall_seconds"] < 60:
        results += [one() for _ in range(runs - 1)]
    results.sort(key=lambda r: float(r[key]))
    chosen = dict(results[len(results) // 2])
    chosen["runs"] = len(results)
    if len(results) > 1:
        chosen[f"{key}_all_runs"] = [r[key] for r in results]
    return chosen


def catch_up_figures(c: CatchUp, scale: float) -> dict[str, Any]:
    qbo_minutes = c.run_seconds * scale / 60
    entities = c.entities
    reads, writes = c.total("reads"), c.total("writes")
    ceiling = WRITE_CEILING * entities / (entities + reads) if entities else 0.0
    rate = entities / qbo_minutes if qbo_minutes else 0.0
    return {
        "entities": entities,
        "written": c.written,
        "wall_seconds": round(c.run_seconds, 2),
        "job_seconds": round(c.job_seconds, 2),
        "qbo_minutes": round(qbo_minutes, 3),
        "entities_per_qbo_minute": round(rate, 1),
        "ceiling_per_qbo_minute": round(ceiling, 1),
        "ceiling_arithmetic": (
            f"{BATCH_PER_MINUTE} batches x {BATCH_SIZE} + ({PER_MINUTE} - {BATCH_PER_MINUTE}) "
            f"singles = {WRITE_CEILING} documents per minute if every request wrote; the run "
            f"also needs {reads} reads for {entities} documents, so the ceiling is "
            f"{WRITE_CEILING} x {entities} / ({entities} + {reads}) = {ceiling:.1f}"
        ),
        "ratio_to_ceiling": round(rate / ceiling, 3) if ceiling else 0.0,
        "throttled_429": c.total("throttled_429"),
        "reads": reads,
        "writes": writes,
        "executed_writes": c.total("executed_writes"),
        "client_stats": [r.stats for r in c.runs],
        "emulator_ms_per_request": c.emulator_ms_per_request,
        "emulator_cpu_seconds": round(c.emulator_cpu_seconds, 2),
        "worker_cpu_seconds": round(sum(w.cpu_seconds for w in c.workers), 2),
        "worker_startup_cpu_seconds": round(c.startup_cpu_seconds, 2),
        "worker_peak_rss_mb": round(max(w.peak_rss_mb for w in c.workers), 1),
    }


def throughput(services: Services, shape: Shape, opts: Options) -> dict[str, Any]:
    """One company's catch-up from an empty QuickBooks, limits and latency on."""

    def one() -> dict[str, Any]:
        with services.stack(
            "throughput", time_scale=opts.time_scale, latency_ms=opts.latency_ms
        ) as stack:
            made = generate(shape)
            connect(stack, None, COMPANIES[0])
            c = sync(stack, [COMPANIES[0]], label="throughput")
            out = catch_up_figures(c, opts.time_scale)
            out["crm"] = made
            out["time_scale"] = opts.time_scale
            out["latency_ms"] = opts.latency_ms
            out["bound_by"] = bound_by(c, out["ratio_to_ceiling"], scale=opts.time_scale)
            out["batches_per_qbo_minute"] = round(batches_per_qbo_minute(c, opts.time_scale), 2)
            return out

    return median_of(3, one, "entities_per_qbo_minute", opts)


def scale_out(
    services: Services, shape: Shape, opts: Options, single_rate: float
) -> dict[str, Any]:
    """Three companies at once: three profiles, three companies, three workers; each company
    gets the throughput run's data (so each is held to the same batch limit, and a run takes
    over a minute: one run, not three)."""
    per_company = Shape(
        shape.customers * 3, shape.sales * 3, shape.receipts * 3, shape.adjustments * 3, 3
    )

    def one() -> dict[str, Any]:
        with services.stack(
            "scale-out", time_scale=opts.time_scale, latency_ms=opts.latency_ms, companies=3
        ) as stack:
            made = generate(per_company)
            for segment, company in zip(SEGMENTS[:3], COMPANIES, strict=True):
                connect(stack, segment, company)
            c = sync(stack, list(COMPANIES), workers=3, label="scale-out")
            qbo_minutes = c.run_seconds * opts.time_scale / 60
            rate = c.entities / qbo_minutes if qbo_minutes else 0.0
            return {
                "companies": 3,
                "crm": made,
                "entities": c.entities,
                "wall_seconds": round(c.run_seconds, 2),
                "qbo_minutes": round(qbo_minutes, 3),
                "entities_per_qbo_minute": round(rate, 1),
                "ratio_to_one_company": round(rate / single_rate, 3) if single_rate else None,
                "throttled_429": {co: int(c.emulator[co]["throttled_429"]) for co in COMPANIES},
                "per_company_entities": {co: sum(w.values()) for co, w in c.written.items()},
                "worker_processes": len(c.workers),
                "workers_total_peak_rss_mb": round(sum(w.peak_rss_mb for w in c.workers), 1),
                "worker_cpu_seconds": round(sum(w.cpu_seconds for w in c.workers), 2),
                "emulator_cpu_seconds": round(c.emulator_cpu_seconds, 2),
                "emulator_ms_per_request": c.emulator_ms_per_request,
                "bound_by": bound_by(c, None, workers=3, scale=opts.time_scale),
                "batches_per_qbo_minute": round(batches_per_qbo_minute(c, opts.time_scale), 2),
            }

    return median_of(3, one, "entities_per_qbo_minute", opts)


def naive(services: Services, shape: Shape, opts: Options, fraction: float) -> dict[str, Any]:
    """The same data the peers' way (bench.naive): a fixed prefix of whole customers."""
    from .naive import push

    customers = max(1, round(shape.customers * fraction))

    def one() -> dict[str, Any]:
        with services.stack(
            "naive", time_scale=opts.time_scale, latency_ms=opts.latency_ms
        ) as stack:
            generate(shape)
            realm = stack.realm(COMPANIES[0])
            pushed = push(stack, COMPANIES[0], customers)
            stats = stack.emu.stats(realm)
            qbo_minutes = pushed["seconds"] * opts.time_scale / 60
            return {
                "records": pushed["records"],
                "customers": pushed["customers"],
                "prefix": f"the first {customers} of {shape.customers} customers "
                f"({fraction:.0%}) with their sales, receipts and adjustments",
                "wall_seconds": round(pushed["seconds"], 2),
                "qbo_minutes": round(qbo_minutes, 3),
                "entities_per_qbo_minute": round(pushed["records"] / qbo_minutes, 1),
                "qbo_seconds_per_record": round(qbo_minutes * 60 / pushed["records"], 3),
                "reads": int(stats["reads"]),
                "writes": int(stats["writes"]),
                "throttled_429": int(stats["throttled_429"]),
                "emulator_ms_per_request": stats["handler_ms_per_request"],
                "bound_by": "latency: one request at a time, each waiting for its reply",
            }

    return median_of(3, one, "entities_per_qbo_minute", opts)


def restart_emulator(stack: Stack, *, time_scale: float, latency_ms: float, limits: bool) -> None:
    """The same company database (tokens, books) served again with other settings."""
    old = stack.emu
    old.stop()
    emu = EmulatorProcess(
        db_path=old.db_path,
        clients=old.clients,
        control=True,
        time_scale=time_scale,
        latency_ms=latency_ms,
        port=old.port,
        limits=limits,
        companies=old.companies,
    )
    emu.start()
    stack.emu, stack.time_scale, stack.limits = emu, time_scale, limits


def scale(services: Services, sizes: list[Shape], opts: Options) -> dict[str, Any]:
    """Catch-ups with latency and limits off; the 10k one is then the no-op resync's base,
    the largest one the books check's (its customers)."""
    out: dict[str, Any] = {"sizes": []}
    for n, shape in enumerate(sizes):
        with services.stack("scale", time_scale=1.0, latency_ms=0, limits=False) as stack:
            made = generate(shape)
            connect(stack, None, COMPANIES[0])
            c = sync(stack, [COMPANIES[0]], label="scale")
            worker = c.workers[0]
            cpu = c.worker_run_cpu
            entry = {
                "sales": made["sales"],
                "crm": made,
                "records": c.entities,
                "wall_seconds": round(c.run_seconds, 2),
                "peak_rss_mb": round(worker.peak_rss_mb, 1),
                "worker_cpu_seconds": round(worker.cpu_seconds, 2),
                "startup_cpu_seconds": round(c.startup_cpu_seconds, 2),
                "cpu_ms_per_record": round(1000 * cpu / c.entities, 3) if c.entities else 0,
                "reads": c.total("reads"),
                "writes": c.total("writes"),
                "emulator_ms_per_request": c.emulator_ms_per_request,
                "emulator_cpu_seconds": round(c.emulator_cpu_seconds, 2),
                "bound_by": bound_by(c, None),
            }
            out["sizes"].append(entry)
            if n == 0:
                out["noop_resync"] = noop_resync(stack, opts)
            if n == len(sizes) - 1:
                out["books_check"] = books_check(stack, opts)
    first, last = out["sizes"][0], out["sizes"][-1]
    out["growth_ratio"] = (
        round(last["cpu_ms_per_record"] / first["cpu_ms_per_record"], 3)
        if first["cpu_ms_per_record"]
        else None
    )
    return out


def noop_resync(stack: Stack, opts: Options) -> dict[str, Any]:
    """A run over the already-synced sales with nothing changed, at real QuickBooks speed
    (latency on, time scale 1, limits on): what the user waits for "nothing to do"."""
    restart_emulator(stack, time_scale=1.0, latency_ms=opts.latency_ms, limits=True)
    c = sync(stack, [COMPANIES[0]], label="noop")
    run = c.runs[0]
    sales = db.session.scalar(db.select(db.func.count()).select_from(db.table("sale")))
    return {
        "records": int(sales or 0),
        "writes": c.total("writes"),
        "reads": c.total("reads"),
        "seconds": round(c.run_seconds, 2),
        "job_seconds": round(c.job_seconds, 2),
        "latency_ms": opts.latency_ms,
        "time_scale": 1.0,
        "client_stats": run.stats,
        "emulator_ms_per_request": c.emulator_ms_per_request,
        "worker_cpu_seconds": round(c.workers[0].cpu_seconds, 2),
        "bound_by": (
            f"the worker's CPU: {c.worker_run_cpu:.1f} s of CPU (start-up left out) in a "
            f"{c.run_seconds:.1f} s run of {c.total('requests')} requests"
            if c.worker_run_cpu > 0.5 * c.run_seconds
            else f"latency: {c.total('requests')} requests of {opts.latency_ms:.0f} ms"
        ),
    }


def books_check(stack: Stack, opts: Options) -> dict[str, Any]:
    """`flask qbo reconcile --all-segments` over the company, at real QuickBooks speed."""
    restart_emulator(stack, time_scale=1.0, latency_ms=opts.latency_ms, limits=True)
    realm = stack.realm(COMPANIES[0])
    stack.emu.reset_stats(realm)
    started = time.monotonic()
    done = stack.flask("qbo", "reconcile", "--all-segments", timeout=RUN_DEADLINE)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"qbo reconcile failed ({done.returncode}): {done.stdout[-500:]}")
    stats = stack.emu.stats(realm)
    customers = db.session.scalar(db.select(db.func.count()).select_from(db.table("customer")))
    return {
        "customers": int(customers or 0),
        "reads": int(stats["reads"]),
        "writes": int(stats["writes"]),
        "seconds": round(seconds, 2),
        "latency_ms": opts.latency_ms,
        "output": done.stdout.strip().splitlines()[-1:],
        "emulator_ms_per_request": stats["handler_ms_per_request"],
    }


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
