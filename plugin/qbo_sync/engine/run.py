"""One run of one profile: phases in dependency order, each timed and counted on the run.

`execute_run` is what the RQ job calls. It never lets one record's failure stop the others; a
connection problem (reconnect needed, company unreachable) stops this profile's run only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from sqlalchemy.orm import Session

from ..client import QBOClient
from ..config import Settings
from ..connection import ProfileTokens
from ..errors import ConnectionProblem, QBOSyncError, ReconnectNeeded
from ..models import Phase, RunStatus, SyncProfile, SyncRun, SyncRunPhase, utcnow
from ..source import CRMSource
from .context import RunContext, resolve_accounts
from .phases.customers import sync_customers
from .phases.items import sync_items
from .phases.receipts import sync_receipts
from .phases.sales import sync_sales
from .plan import Plan, make_plan
from .records import RecordBook
from .writer import Writer

log = logging.getLogger(__name__)
COUNTS = ("created", "updated", "unchanged", "failed", "blocked")


@contextmanager
def phase(ctx: RunContext, which: Phase, total: int) -> Iterator[dict[str, int]]:
    """Record the phase's start, then its end and counts, each committed as it happens."""
    row = SyncRunPhase(run_id=ctx.run.id, phase=which, started_at=utcnow())
    ctx.session.add(row)
    ctx.run.phase, ctx.run.progress_done, ctx.run.progress_total = which, 0, total
    ctx.session.commit()
    counts: dict[str, int] = defaultdict(int)
    try:
        yield counts
    finally:
        for name in COUNTS:
            setattr(row, name, counts[name])
        row.ended_at = utcnow()
        ctx.session.commit()


def build_context(
    session: Session,
    settings: Settings,
    source: CRMSource,
    run: SyncRun,
    client: QBOClient,
) -> RunContext:
    profile = run.profile
    book = RecordBook(session, profile.id, str(profile.realm_id), run.id)
    accounts = resolve_accounts(profile, list(client.query_all("Account")))
    ctx = RunContext(
        session=session,
        settings=settings,
        source=source,
        profile=profile,
        run=run,
        client=client,
        book=book,
        writer=Writer(session, book, client, settings.batch_size),
        accounts=accounts,
    )
    ctx.load_lists()
    return ctx


def run_phases(ctx: RunContext, plan: Plan) -> None:
    with phase(ctx, Phase.CUSTOMERS, len(plan.customer_ids)) as counts:
        sync_customers(ctx, plan.customer_ids, counts)
    with phase(ctx, Phase.ITEMS, len(plan.product_names)) as counts:
        sync_items(ctx, plan.product_names, counts)
    with phase(ctx, Phase.SALES, len(plan.sale_ids)) as counts:
        sync_sales(ctx, counts)
    with phase(ctx, Phase.RECEIPTS, len(plan.sale_ids)) as counts:
        sync_receipts(ctx, counts)


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
    """Run the phases; the run row ends with its status, message and request statistics."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise ValueError(f"run {run_id} does not exist")
    profile: SyncProfile = run.profile
    run.status, run.started_at, run.realm_id = RunStatus.RUNNING, utcnow(), profile.realm_id
    run.message = None
    session.commit()
    client: QBOClient | None = None
    try:
        if not profile.realm_id:
            raise ConnectionProblem("This workbook is not connected to QuickBooks Online.")
        tokens = ProfileTokens(session_factory, profile.id, settings, redis_conn)
        client = QBOClient(
            settings, profile.realm_id, tokens, redis_conn, throttle_pause=settings.throttle_pause
        )
        ctx = build_context(session, settings, source, run, client)
        ctx.heartbeat = heartbeat
        run_phases(ctx, make_plan(source, profile, run.sale_ids))
        troubled = sum(p.failed + p.blocked for p in run.phases)
        run.status = RunStatus.PARTIAL if troubled else RunStatus.SUCCEEDED
        run.message = (
            f"{troubled} record(s) could not be synchronized; see the list of failures."
            if troubled
            else None
        )
    except ReconnectNeeded:
        session.rollback()
        run.status = RunStatus.FAILED
        run.message = (
            "QuickBooks Online no longer accepts this connection. Use Setup "
            "Authentication to connect the workbook again; nothing was lost."
        )
    except QBOSyncError as exc:  # not connected, company unreachable, superseded, ...
        session.rollback()
        log.warning("run %s of profile %s stopped: %s", run.id, profile.id, exc)
        run.status = RunStatus.FAILED
        run.message = f"The synchronization stopped: {exc}. It resumes where it left off."
    finally:
        run.ended_at = utcnow()
        run.phase = None
        if client is not None:  # what the run cost QuickBooks' budget, for the page and benchmarks
            run.stats = client.stats.as_dict()
        session.commit()
    return run
