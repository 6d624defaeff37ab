"""`flask qbo ...`: the plugin's command line (thin wrappers over profiles, jobs and the engine)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from .cli_books import plan_command, reconcile_command
from .cli_history import prune_history_command
from .cli_keys import rotate_key_command
from .cli_schedule import schedule_command
from .details import phase_lines
from .errors import QBOSyncError
from .health import Level, company_health
from .localtime import when
from .models import (
    RecordStatus,
    RunStatus,
    RunTrigger,
    SyncDocument,
    SyncProfile,
    SyncRun,
    utcnow,
)
from .state import qbo_state


class QBOGroup(AppGroup):
    """The `qbo` group; `qbo emulator` is loaded only when asked for."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulator":
            from qbo_emulator.cli import emulator_command

            return emulator_command
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulator"})


qbo = QBOGroup("qbo", help="QuickBooks Online sync.")
qbo.add_command(plan_command)
qbo.add_command(prune_history_command)
qbo.add_command(reconcile_command)
qbo.add_command(rotate_key_command)
qbo.add_command(schedule_command)
segment_option = click.option("--segment", "segment", help="Market segment name.")
all_segments_option = click.option(
    "--all-segments", is_flag=True, help="The profile for all market segments."
)


def _session() -> Any:
    return current_app.extensions["qbo_sync"].db.session


def _profile(segment: str | None, all_segments: bool, create: bool = False) -> SyncProfile:
    from .profiles import find_profile, get_or_create_profile, segment_key_for

    if bool(segment) == all_segments:
        raise click.UsageError("Give exactly one of --segment NAME or --all-segments.")
    try:
        if create:
            return get_or_create_profile(_session(), segment)
        key, name = segment_key_for(segment)
    except QBOSyncError as exc:
        raise click.ClickException(str(exc)) from exc
    profile = find_profile(_session(), key)
    if profile is None:
        raise click.ClickException(f"No profile for {name}; run `flask qbo connect` first.")
    return profile


@qbo.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for the plugin's queue (jobs run inside this app).

    At start and every maintenance pass (QBO_SYNC_RESUME_INTERVAL seconds) it resumes the runs
    of workers that died; when Redis goes away it waits for it and starts again."""
    from .worker import work

    work(burst=burst)


@qbo.command("connect")
@segment_option
@all_segments_option
@click.option(
    "--other-company", is_flag=True, help="Allow connecting to a different company than before."
)
def connect(segment: str | None, all_segments: bool, other_company: bool) -> None:
    """Connect a profile: open the printed URL, authorize, paste the URL you land on."""
    from .connection import authorization_url
    from .profiles import complete_connection, new_state, parse_redirect

    profile = _profile(segment, all_segments, create=True)
    st = current_app.extensions["qbo_sync"]
    if not st.settings.redirect_uri:
        raise click.ClickException(
            "Set QBO_SYNC_REDIRECT_URI to the redirect URI registered with Intuit "
            "(https://<your host>/admin/qbo/callback)."
        )
    state = new_state()
    click.echo("Open this address in a browser, choose the company and press Authorize:")
    click.echo(authorization_url(st.settings, state))
    url = click.prompt("Paste the address the browser was sent to", prompt_suffix="\n> ")
    params = parse_redirect(url)
    if params.get("state") != state:
        raise click.ClickException("That address does not belong to this connection attempt.")
    if "error" in params or "code" not in params or "realmId" not in params:
        raise click.ClickException(f"Not connected: {params.get('error', 'no code given')}.")
    try:
        complete_connection(
            _session(),
            profile,
            params["code"],
            params["realmId"],
            allow_other_company=other_company,
        )
    except QBOSyncError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Connected {profile.segment_name} to {profile.company_name} (realm {profile.realm_id})."
    )


@qbo.command("profile")
@segment_option
@all_segments_option
@click.option("--sync-after", type=click.DateTime(["%Y-%m-%d"]), help="Sync Data After date.")
@click.option("--ar-account", help="Accounts Receivable account name.")
@click.option("--income-account", help="Income account name.")
@click.option("--deposit-account", help="Deposit account name.")
def profile_command(
    segment: str | None,
    all_segments: bool,
    sync_after: Any,
    ar_account: str | None,
    income_account: str | None,
    deposit_account: str | None,
) -> None:
    """Show or change a profile's settings."""
    from .profiles import accounts, update_settings

    profile = _profile(segment, all_segments, create=True)
    chosen: dict[str, tuple[str, str]] = {}
    wanted = {"ar": ar_account, "income": income_account, "deposit": deposit_account}
    if any(wanted.values()):
        if not profile.realm_id:
            raise click.ClickException("Connect the profile before choosing accounts.")
        by_name = {str(a["Name"]).casefold(): a for a in accounts(profile)}
        for key, name in wanted.items():
            if name:
                acct = by_name.get(name.casefold())
                if acct is None:
                    raise click.ClickException(f"The company has no account named {name!r}.")
                chosen[key] = (str(acct["Id"]), str(acct["Name"]))
    update_settings(
        _session(), profile, sync_after=sync_after.date() if sync_after else "", **chosen
    )
    _print_profile(profile)


def _print_profile(p: SyncProfile) -> None:
    click.echo(
        f"{p.segment_name}: {p.company_name or 'not connected'}"
        f"{f' (realm {p.realm_id})' if p.realm_id else ''}"
        f"{' - reconnect needed' if p.reconnect_needed else ''}"
    )
    click.echo(f"  Sync Data After: {p.sync_after or '-'}")
    click.echo(f"  Accounts Receivable Account: {p.ar_account_name or 'default'}")
    click.echo(f"  Income Account: {p.income_account_name or 'default'}")
    click.echo(f"  Deposit Account: {p.deposit_account_name or 'Undeposited Funds (default)'}")


@qbo.command("sync")
@click.option("--segment", "segments", multiple=True, help="Market segment name (repeatable).")
@click.option("--all", "all_", is_flag=True, help="Every connected profile, one after another.")
@click.option("--wait", is_flag=True, help="Wait for the runs and print their details.")
def sync(segments: tuple[str, ...], all_: bool, wait: bool) -> None:
    """Queue synchronizations; exit status 1 when any record failed."""
    from .jobs import resume_dead_runs, start_sync, start_sync_all

    if all_ == bool(segments):
        raise click.UsageError("Give --all or one or more --segment NAME.")
    by = RunTrigger.COMMAND_LINE
    started = (
        start_sync_all(trigger=by)
        if all_
        else [start_sync(_profile(name, False), trigger=by) for name in segments]
    )
    for run, new in started:
        click.echo(f"{'Queued' if new else 'Already running'}: run {run.id} of {run.label}")
    if not wait:
        return
    session = _session()
    ids = [run.id for run, _ in started]
    while True:
        session.expire_all()
        runs = [session.get(SyncRun, i) for i in ids]
        if all(r.status not in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs):
            break
        resume_dead_runs()  # a run whose worker died goes on in a live worker
        time.sleep(0.5)
    for run in runs:
        _print_run(run)
    if any(r.status is not RunStatus.SUCCEEDED for r in runs):
        sys.exit(1)


def _print_run(run: SyncRun) -> None:
    zone = qbo_state().settings.zone
    ended = f", ended {when(run.ended_at, zone)}" if run.ended_at else ""
    click.echo(
        f"Run {run.id} of {run.label}: {run.status.value}{ended}"
        f"{f' - {run.message}' if run.message else ''}"
    )
    for line in phase_lines(run, qbo_state().settings.zone):
        click.echo(f"  {line}")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(qbo_state().settings.zone).isoformat() if value else None


@qbo.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Profiles, their connection, and their last run."""
    session = _session()
    out = []
    for p in session.scalars(sa.select(SyncProfile).order_by(SyncProfile.id)):
        last = session.scalar(
            sa.select(SyncRun).where(SyncRun.company_id == p.company_id).order_by(SyncRun.id.desc())
        )
        warnings = (
            company_health(p.company, utcnow(), qbo_state().settings.zone) if p.company else []
        )
        out.append(
            {
                "segment": p.segment_name,
                "company": p.company_name,
                "realm_id": p.realm_id,
                "connected": p.is_connected,
                "reconnect_needed": p.reconnect_needed,
                "warnings": [{"level": w.level.value, "message": w.message} for w in warnings],
                "last_run": None
                if last is None
                else {
                    "id": last.id,
                    "status": last.status.value,
                    "message": last.message,
                    # ISO 8601 with the office's offset ("2026-12-01T08:31:06-05:00")
                    "started_at": _iso(last.started_at),
                    "ended_at": _iso(last.ended_at),
                    "details": phase_lines(last, qbo_state().settings.zone),
                    "requests": last.stats,
                },
            }
        )
        if not as_json:
            _print_profile(p)
            for w in warnings:
                click.echo(
                    f"  {'Warning' if w.level is Level.WARNING else 'Attention'}: {w.message}"
                )
            if last is not None:
                _print_run(last)
    if as_json:
        click.echo(json.dumps(out, indent=2))


@qbo.command("issues")
@click.option("--json", "as_json", is_flag=True)
def issues(as_json: bool) -> None:
    """Every failed or blocked record, with QuickBooks' code and the reason."""
    session = _session()
    rows = session.scalars(
        sa.select(SyncDocument)
        .where(SyncDocument.status.in_([RecordStatus.FAILED, RecordStatus.BLOCKED]))
        .order_by(SyncDocument.company_id, SyncDocument.kind, SyncDocument.id)
    ).all()
    data = [
        {
            "company_id": r.company_id,
            "profile_id": r.profile_id,
            "kind": r.kind.value,
            "local_id": r.local_id,
            "status": r.status.value,
            "code": r.error_code,
            "message": r.explanation,
            "detail": r.error_detail,
            "intuit_tid": r.intuit_tid,
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for d in data:
        click.echo(
            f"{d['kind']} {d['local_id']}: {d['status']} [{d['code'] or '-'}] {d['message']}"
        )
    if not data:
        click.echo("No failed or blocked records.")
