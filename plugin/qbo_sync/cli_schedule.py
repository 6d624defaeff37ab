"""`flask qbo schedule`: show or set when a company's runs start by themselves (schedule.py);
the next run is printed in the office's time zone."""

from __future__ import annotations

import click

from .cli_books import _company_of
from .localtime import when, zone_label
from .models import ScheduleKind
from .schedule import ScheduleInvalid, configure, parse_schedule, summary
from .state import qbo_state


@click.command("schedule")
@click.option("--segment", help="Market segment name (the schedule is its company's).")
@click.option("--all-segments", is_flag=True, help="The profile for all market segments.")
@click.option("--every", "every", type=int, metavar="N", help="Every N minutes (1 to 1440).")
@click.option("--daily", "daily", metavar="HH:MM", help="Daily at this local time (24-hour).")
@click.option("--off", "off", is_flag=True, help="No scheduled runs.")
def schedule_command(
    segment: str | None, all_segments: bool, every: int | None, daily: str | None, off: bool
) -> None:
    """Schedule the runs of a profile's company: --every N, --daily HH:MM or --off (none of
    them: show the schedule). Profiles sharing a company share its schedule."""
    chosen = [
        flag
        for flag, given in (("--every", every is not None), ("--daily", daily), ("--off", off))
        if given
    ]
    if len(chosen) > 1:
        raise click.UsageError(
            f"Give one of --every N, --daily HH:MM or --off, not {' and '.join(chosen)}."
        )
    st = qbo_state()
    company = _company_of(segment, all_segments)
    if chosen:
        kind = (
            ScheduleKind.OFF
            if off
            else ScheduleKind.EVERY
            if every is not None
            else ScheduleKind.DAILY
        )
        try:
            wanted = parse_schedule(kind, every, daily)
        except ScheduleInvalid as exc:
            raise click.ClickException(str(exc)) from exc
        configure(st.db.session(), company, wanted)
    zone = st.settings.zone
    if company.schedule_kind is ScheduleKind.OFF or company.schedule_next_at is None:
        click.echo(f"{company.label}: no scheduled runs.")
        return
    click.echo(
        f"{company.label}: {summary(company)} ({zone_label(zone)}); next run "
        f"{when(company.schedule_next_at, zone)}."
    )
