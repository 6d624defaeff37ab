"""The "Last Synchronization Details" of a run, in the words of the integration we replace."""

from __future__ import annotations

from datetime import tzinfo

from .localtime import stamp
from .models import SyncRun

PHASE_LINES = {
    "customers": ("Starting Customer Synchronization", "Ending Customer Synchronization"),
    "items": ("Starting Item Sync", "Ending Item Synchronization"),
    "sales": ("Starting Sale Sync", "Ending Sale Synchronization"),
    "receipts": ("Starting Receipt Sync", "Ending Receipt Synchronization"),
}


def phase_lines(run: SyncRun, zone: tzinfo) -> list[str]:
    """When each phase started and ended, in the office's zone, and what it did."""
    lines = []
    for p in run.phases:
        start, end = PHASE_LINES[p.phase.value]
        lines.append(f"{stamp(p.started_at, zone)} - {start}")
        if p.ended_at:
            lines.append(
                f"{stamp(p.ended_at, zone)} - {end} (created {p.created}, "
                f"updated {p.updated}, unchanged {p.unchanged}, failed {p.failed}, "
                f"blocked {p.blocked})"
            )
    return lines
