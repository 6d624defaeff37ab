"""`flask qbo prune-history`: remove now the history older than QBO_SYNC_HISTORY_DAYS (or
--days), as the workers' maintenance does by itself once an hour (retention.py)."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from .localtime import when
from .retention import prune_history
from .state import qbo_state


@click.command("prune-history")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    metavar="N",
    help="Keep the last N days (default: QBO_SYNC_HISTORY_DAYS).",
)
def prune_history_command(days: int | None) -> None:
    """Remove the timeline's events and the runs older than the days kept; what a record's
    timeline and the page still need is kept however old."""
    st = qbo_state()
    days = days or st.settings.history_days
    if days == 0:
        click.echo("History is kept for ever (QBO_SYNC_HISTORY_DAYS=0); give --days N to prune.")
        return
    with Session(st.db.engine) as session:
        pruned = prune_history(session, days)
    click.echo(
        f"Removed {pruned.events} event(s) and {pruned.runs} run(s) from before "
        f"{when(pruned.before, st.settings.zone)}."
    )
