"""`flask qbo plan` and `flask qbo reconcile`: what the next run would do, and whether each
customer's balance in QuickBooks equals the CRM's. Both write nothing."""

from __future__ import annotations

import json
import sys

import click
import sqlalchemy as sa

from .errors import QBOSyncError
from .models import Company, SyncProfile
from .state import qbo_state


def _company_of(segment: str | None, all_segments: bool) -> Company:
    from .profiles import find_profile, segment_key_for

    if bool(segment) == all_segments:
        raise click.UsageError("Give exactly one of --segment NAME or --all-segments.")
    try:
        key, name = segment_key_for(segment)
    except QBOSyncError as exc:
        raise click.ClickException(str(exc)) from exc
    profile: SyncProfile | None = find_profile(qbo_state().db.session(), key)
    if profile is None or profile.company is None:
        raise click.ClickException(f"{name} is not connected to a QuickBooks company.")
    return profile.company


@click.command("plan")
@click.option("--segment", help="Market segment name (its company is planned whole).")
@click.option("--all-segments", is_flag=True, help="The profile for all market segments.")
@click.option("--json", "as_json", is_flag=True)
def plan_command(segment: str | None, all_segments: bool, as_json: bool) -> None:
    """Show what the next run of the profile's company would do; write nothing."""
    from .engine import preview

    st = qbo_state()
    company = _company_of(segment, all_segments)
    try:
        result = preview(*st.engine_args(company))
    except QBOSyncError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "operation": op.op.value,
                        "document": op.kind.value,
                        "local_id": op.local_id,
                        "label": op.label,
                        "line": line,
                    }
                    for op, line in zip(result.ops, result.lines, strict=True)
                ],
                indent=2,
            )
        )
        return
    click.echo(f"Plan for {company.label}: {result.summary}")
    for line in result.lines:
        click.echo(f"  {line}")


@click.command("reconcile")
@click.option("--segment", help="Market segment name (its company is checked whole).")
@click.option("--all-segments", is_flag=True, help="The profile for all market segments.")
def reconcile_command(segment: str | None, all_segments: bool) -> None:
    """Compare every customer's balance, CRM against QuickBooks; exit 1 on a difference.

    Without --segment or --all-segments every connected company is checked."""
    from .engine.books import books_check

    st = qbo_state()
    if segment or all_segments:
        companies = [_company_of(segment, all_segments)]
    else:
        companies = [
            c
            for c in st.db.session.scalars(sa.select(Company).order_by(Company.id))
            if c.is_connected and c.profiles
        ]
    differences = 0
    for company in companies:
        try:
            report = books_check(*st.engine_args(company))
        except QBOSyncError as exc:
            raise click.ClickException(str(exc)) from exc
        if report.balanced:
            click.echo(
                f"{report.company}: the balances of {report.customers} customer(s) agree "
                "with the CRM."
            )
        else:
            click.echo(f"{report.company}: {len(report.differences)} difference(s):")
            for diff in report.differences:
                click.echo(f"  {diff.text}")
        differences += len(report.differences)
    if differences:
        sys.exit(1)
