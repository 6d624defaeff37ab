"""One run of one company: resolve what is in flight, then plan and apply phase by phase
(customers, items, sales, receipts), then verify by reading back what was touched.

`execute_run` is what the RQ job calls. One document's failure never stops the others; a
connection problem stops this company's run only. `preview` plans with the same code and
writes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..client import QBOClient
from ..config import Settings
from ..connection import CompanyTokens
from ..errors import ConnectionProblem, QBOSyncError, ReconnectNeeded
from ..models import (
    LIST_DOC_KINDS,
    Company,
    DocKind,
    OpKind,
    Phase,
    RunStatus,
    SyncProfile,
    SyncRun,
    SyncRunPhase,
    utcnow,
)
from ..source import CRMSource
from .applier_types import Counts
from .apply import Applier
from .context import RunContext, close_date_of, resolve_accounts
from .desired import Accounts
from .journal import Journal, RunSuperseded, take_fence
from .lists import sync_customers, sync_items
from .planner import PlannedOp, Stage
from .preview_lines import describe, summary
from .sales import Chunk, load_chunk, plan_chunk
from .scope import CompanyScope
from .verify import verify_invoices
from .writer import Writer

log = logging.getLogger(__name__)
COUNTS = ("created", "updated", "unchanged", "failed", "blocked")
CHUNK = 500  # sales per chunk: fewer pauses between stages, memory still flat
FIRST_PASS = (Stage.LISTS, Stage.UNWIND, Stage.INVOICES)
SECOND_PASS = (Stage.LISTS, Stage.PAYMENTS, Stage.CREDITS)


@contextmanager
def phase(ctx: RunContext, which: Phase, total: int) -> Iterator[Counts]:
    """Record the phase's start, then its end and counts, each committed as it happens."""
    counts: Counts = defaultdict(int)
    if ctx.preview:
        yield counts
        return
    row = ctx.session.scalar(  # a resumed run goes on with the phase rows it had
        sa.select(SyncRunPhase).where(
            SyncRunPhase.run_id == ctx.run.id, SyncRunPhase.phase == which
        )
    )
    if row is None:
        row = SyncRunPhase(run_id=ctx.run.id, phase=which, started_at=utcnow())
        ctx.session.add(row)
    row.ended_at = None
    ctx.run.phase, ctx.run.progress_done, ctx.run.progress_total = which, 0, total
    ctx.journal.commit()
    try:
        yield counts
    finally:
        for name in COUNTS:
            setattr(row, name, getattr(row, name, 0) + counts[name])
        row.ended_at = utcnow()
        try:
            ctx.journal.commit()
        except RunSuperseded:  # the newer run keeps the phase rows; the error goes on up
            pass


def company_scope(session: Session, company: Company) -> CompanyScope:
    others = session.scalars(
        sa.select(SyncProfile.segment_key).where(
            SyncProfile.company_id.is_not(None),
            SyncProfile.company_id != company.id,
            SyncProfile.segment_key.is_not(None),
        )
    ).all()
    return CompanyScope(list(company.profiles), frozenset(str(k) for k in others))


def sales_to_plan(ctx: RunContext) -> list[str]:
    """Every sale the company's books may hold a document for: claimed or recorded."""
    limited = set(ctx.run.sale_ids) if ctx.run.sale_ids is not None else None
    ids: set[str] = set()
    for profile in ctx.profiles:
        ids.update(
            ctx.source.scope(profile.segment_key, profile.sync_after, ctx.run.sale_ids).sale_ids
        )
    recorded = set(ctx.journal.recorded_sale_ids())
    ids.update(recorded if limited is None else recorded & limited)
    return sorted(ids, key=lambda s: (len(s), s))


def resolve_in_flight(ctx: RunContext, applier: Applier) -> None:
    """Resend every unanswered operation exactly as journaled, and settle it, before planning."""
    pending = ctx.journal.in_flight()
    if not pending:
        return
    log.info("company %s: resending %d unanswered operation(s)", ctx.company.id, len(pending))
    applier.resend(pending)


def _sale_pass(
    ctx: RunContext,
    applier: Applier,
    scope: CompanyScope,
    sale_ids: Sequence[str],
    stages: tuple[Stage, ...],
    counts: Counts,
    expected: dict[str, tuple[str, Decimal, Decimal]] | None = None,
    quiet: set[str] | None = None,
) -> None:
    """One pass over the sales, chunk by chunk. `quiet` collects the sales of chunks whose
    plan holds nothing at all (the first pass): the second pass leaves them out, as nothing
    the first pass did can give them work (it touched none of their documents)."""
    applier.counts = counts
    for start in range(0, len(sale_ids), CHUNK):
        part = sale_ids[start : start + CHUNK]
        chunk = load_chunk(ctx, scope, part)
        ensure_lists(ctx, applier, chunk, counts)
        plan_chunk(ctx, chunk)
        if quiet is not None and not chunk.ops:
            quiet.update(part)
        ops = [op for op in chunk.ops if op.stage in stages]
        if ctx.preview:
            applier.previewed.extend(ops)
        else:
            before = set(ctx.touched)
            applier.apply(ops, chunk.docs)
            if expected is not None:
                _expect(ctx, chunk, before, expected)
        ctx.journal.commit()
        ctx.journal.forget(chunk.docs.values())
        for key in list(ctx.ids):
            if key[0] not in LIST_DOC_KINDS:
                del ctx.ids[key]
        ctx.progress(len(part))


def _expect(
    ctx: RunContext,
    chunk: Chunk,
    before: set[tuple[DocKind, str]],
    expected: dict[str, tuple[str, Decimal, Decimal]],
) -> None:
    """The invoices whose documents this chunk touched, with the totals the CRM expects."""
    touched_sales = {
        str(chunk.docs[key].sale_id) for key in set(ctx.touched) - before if key in chunk.docs
    }
    for sale_id in touched_sales:
        doc = chunk.docs.get((DocKind.INVOICE, sale_id))
        if doc is None or not doc.qbo_id:
            continue
        d = chunk.desired.get((DocKind.INVOICE, sale_id))
        if doc.live and d is not None:
            expected[doc.qbo_id] = (d.label, d.facts["total"], d.facts["balance"])
        elif not doc.live:
            sale = chunk.sales.get(sale_id)
            label = f"sale {sale.number}" if sale else f"sale #{sale_id}"
            expected[doc.qbo_id] = (label, Decimal("0.00"), Decimal("0.00"))


def ensure_lists(ctx: RunContext, applier: Applier, chunk: Chunk, counts: Counts) -> None:
    """Customers, items and payment methods the chunk needs and nobody created yet."""
    customers = sorted(
        c for c in chunk.refs(DocKind.CUSTOMER) if not ctx.ids.get((DocKind.CUSTOMER, c))
    )
    if customers:
        sync_customers(ctx, applier, customers, counts)
    missing_items = [n for n in chunk.product_names() if not ctx.resolve_name(DocKind.ITEM, n)]
    missing_methods = [
        n for n in chunk.payment_methods() if not ctx.resolve_name(DocKind.PAYMENT_METHOD, n)
    ]
    if missing_items or missing_methods:
        sync_items(ctx, applier, missing_items, missing_methods, counts)


def run_phases(ctx: RunContext, applier: Applier) -> list[str]:
    """The phases, in the order of the guide; returns the read-back's problems."""
    scope = company_scope(ctx.session, ctx.company)
    sale_ids = sales_to_plan(ctx)
    ctx.planned_sales = set(sale_ids)
    customer_ids: set[str] = set()
    products: set[str] = set()
    for profile in ctx.profiles:
        s = ctx.source.scope(profile.segment_key, profile.sync_after, ctx.run.sale_ids)
        customer_ids.update(s.customer_ids)
        products.update(s.product_names)
    with phase(ctx, Phase.CUSTOMERS, len(customer_ids)) as counts:
        applier.counts = counts
        sync_customers(ctx, applier, sorted(customer_ids), counts)
    with phase(ctx, Phase.ITEMS, len(products)) as counts:
        applier.counts = counts
        sync_items(ctx, applier, sorted(products), [], counts)
    quiet: set[str] = set()
    with phase(ctx, Phase.SALES, len(sale_ids)) as counts:
        _sale_pass(ctx, applier, scope, sale_ids, FIRST_PASS, counts, quiet=quiet)
    expected: dict[str, tuple[str, Decimal, Decimal]] = {}
    busy = [s for s in sale_ids if s not in quiet]
    with phase(ctx, Phase.RECEIPTS, len(busy)) as counts:
        _sale_pass(ctx, applier, scope, busy, SECOND_PASS, counts, expected)
    if ctx.preview or not expected:
        return []
    return verify_invoices(ctx.client, expected)


def build_context(
    session: Session,
    settings: Settings,
    source: CRMSource,
    run: SyncRun,
    client: QBOClient,
    fence: int,
    *,
    preview: bool = False,
    amounts_only: bool = False,
) -> RunContext:
    """The run's context; `amounts_only` (the books check, which builds no body to send)
    reads neither the chart of accounts nor the closing date."""
    company = run.company
    profiles = list(company.profiles)
    if not profiles:
        raise ConnectionProblem("No profile is connected to this QuickBooks company.")
    close_date: date | None = None
    if amounts_only:
        accounts = {
            p.id: Accounts(p.ar_account_id, p.income_account_id or "", p.deposit_account_id)
            for p in profiles
        }
    else:  # the chart and the closing date are read at once (two round trips in one)
        with ThreadPoolExecutor(1, thread_name_prefix="qbo-read") as beside:
            preferences = beside.submit(client.preferences)
            chart = list(client.query_all("Account"))
            close_date = close_date_of(preferences.result())
        accounts = {p.id: resolve_accounts(p, chart) for p in profiles}
    journal = Journal(session, company.id, company.realm_id, run.id, fence)
    ctx = RunContext(
        session=session,
        settings=settings,
        source=source,
        company=company,
        profiles=profiles,
        run=run,
        client=client,
        journal=journal,
        writer=Writer(journal, client, settings.batch_size, settings.max_in_flight),
        accounts=accounts,
        preview=preview,
    )
    ctx.close_date = close_date
    return ctx


def make_client(
    settings: Settings,
    company: Company,
    redis_conn: redis.Redis,
    session_factory: Callable[[], Session],
    heartbeat: Callable[[], None] = lambda: None,
) -> QBOClient:
    if not company.realm_id or not company.refresh_token_enc:
        raise ConnectionProblem("This workbook is not connected to QuickBooks Online.")
    tokens = CompanyTokens(session_factory, company.id, settings, redis_conn)
    return QBOClient(
        settings,
        company.realm_id,
        tokens,
        redis_conn,
        throttle_pause=settings.throttle_pause,
        heartbeat=heartbeat,
    )


def execute_run(
    session: Session,
    settings: Settings,
    source: CRMSource,
    run_id: int,
    redis_conn: redis.Redis,
    session_factory: Callable[[], Session],
    *,
    heartbeat: Callable[[], None] = lambda: None,
) -> SyncRun:
    """Run the phases; the run row ends with its status, message and request statistics.

    The run's rows are its own while it holds the company's fence (a newer run makes every
    later commit fail), so a commit does not expire them: no row is read again after each of
    the run's hundreds of commits."""
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        return _execute_run(
            session, settings, source, run_id, redis_conn, session_factory, heartbeat
        )
    finally:
        session.expire_on_commit = keep


def _execute_run(
    session: Session,
    settings: Settings,
    source: CRMSource,
    run_id: int,
    redis_conn: redis.Redis,
    session_factory: Callable[[], Session],
    heartbeat: Callable[[], None],
) -> SyncRun:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise ValueError(f"run {run_id} does not exist")
    company: Company = run.company
    fence = take_fence(session, company.id)
    run = session.get(SyncRun, run_id, populate_existing=True)
    assert run is not None
    run.status, run.realm_id, run.fence = RunStatus.RUNNING, company.realm_id, fence
    run.started_at = run.started_at or utcnow()
    run.attempts = (run.attempts or 0) + 1
    run.message = None
    session.commit()
    client: QBOClient | None = None
    superseded = False
    try:
        client = make_client(settings, company, redis_conn, session_factory, heartbeat)
        ctx = build_context(session, settings, source, run, client, fence)
        ctx.heartbeat = heartbeat
        applier = Applier(ctx, defaultdict(int))
        resolve_in_flight(ctx, applier)
        problems = run_phases(ctx, applier)
        troubled = sum(p.failed + p.blocked for p in run.phases)
        run.problems = problems or None
        if problems:
            run.status = RunStatus.PARTIAL
            run.message = (
                "QuickBooks does not show what the CRM says after this run: "
                + " ".join(problems[:5])
                + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
            )
        elif troubled:
            run.status = RunStatus.PARTIAL
            run.message = (
                f"{troubled} record(s) could not be synchronized; see the list of failures."
            )
        else:
            run.status, run.message = RunStatus.SUCCEEDED, None
    except RunSuperseded:
        session.rollback()
        superseded = True
        log.warning("run %s of company %s was superseded by a newer run", run_id, company.id)
    except ReconnectNeeded:
        session.rollback()
        run.status = RunStatus.FAILED
        run.message = (
            "QuickBooks Online no longer accepts this connection. Use Setup "
            "Authentication to connect the workbook again; nothing was lost."
        )
    except QBOSyncError as exc:  # not connected, company unreachable, ...
        session.rollback()
        log.warning("run %s of company %s stopped: %s", run.id, company.id, exc)
        run.status = RunStatus.FAILED
        run.message = f"The synchronization stopped: {exc}. It resumes where it left off."
    finally:
        if superseded or _fence_now(session, company.id) != fence:
            # A newer job of the company holds the run now: leave every word of it to that one.
            session.rollback()
            superseded = True
        run = session.get(SyncRun, run_id, populate_existing=True)
        assert run is not None
        if not superseded:
            run.ended_at = utcnow() if run.status is not RunStatus.RUNNING else None
            run.phase = None if run.status is not RunStatus.RUNNING else run.phase
            if client is not None:
                run.stats = client.stats.as_dict()
            session.commit()
    return run


def _fence_now(session: Session, company_id: int) -> int:
    """The company's fencing token as committed (read on a connection of its own)."""
    with session.get_bind().engine.connect() as conn:
        value = conn.execute(
            sa.select(Company.__table__.c.fence).where(Company.__table__.c.id == company_id)
        ).scalar_one()
    return int(value)


@dataclass(frozen=True)
class Preview:
    ops: list[PlannedOp]
    close_date: date | None

    @property
    def lines(self) -> list[str]:
        return [describe(op, self.close_date) for op in self.ops]

    @property
    def summary(self) -> str:
        return summary(self.ops, self.close_date)


def preview(
    session: Session,
    settings: Settings,
    source: CRMSource,
    company: Company,
    redis_conn: redis.Redis,
    session_factory: Callable[[], Session],
    sale_ids: Sequence[str] | None = None,
) -> Preview:
    """What the next run would do, from the same planner; writes nothing anywhere."""
    run = SyncRun(company=company, company_id=company.id, sale_ids=sale_ids, id=0)
    client = make_client(settings, company, redis_conn, session_factory)
    ctx = build_context(session, settings, source, run, client, fence=company.fence, preview=True)
    ctx.journal.dry = True
    applier = Applier(ctx, defaultdict(int))
    try:
        run_phases(ctx, applier)
    finally:
        session.rollback()
    seen: set[tuple[object, ...]] = set()
    ops: list[PlannedOp] = []
    for op in sorted(applier.previewed, key=lambda o: o.stage):
        marker = (op.key, op.op, op.stage, op.unapply)
        if marker not in seen:
            seen.add(marker)
            ops.append(op)
    return Preview(ops, ctx.close_date)


__all__ = ["OpKind", "execute_run", "preview"]
