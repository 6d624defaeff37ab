"""The "Last Synchronization Details" of a run, in the words of the integration we replace."""

from __future__ import annotations

from .models import SyncRun

PHASE_LINES = {
    "customers": ("Starting Customer Synchronization", "Ending Customer Synchronization"),
    "items": ("Starting Item Sync", "Ending Item Synchronization"),
    "sales": ("Starting Sale Sync", "Ending Sale Synchronization"),
    "receipts": ("Starting Receipt Sync", "Ending Receipt Synchronization"),
}


def phase_lines(run: SyncRun) -> list[str]:
    lines = []
    for p in run.phases:
        start, end = PHASE_LINES[p.phase.value]
        lines.append(f"{p.started_at:%Y-%m-%d %H:%M:%S} - {start}")
        if p.ended_at:
            lines.append(
                f"{p.ended_at:%Y-%m-%d %H:%M:%S} - {end} (created {p.created}, "
                f"updated {p.updated}, unchanged {p.unchanged}, failed {p.failed}, "
                f"blocked {p.blocked})"
            )
    return lines
