"""Turns the host's change reports into sync state: a pushed record that changed is marked dirty.

Runs inside the host's flush, on its connection, so the mark commits with the change itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import SyncRecord, utcnow
from .source import ChangeEvent, ChangeOp, RecordKind


def record_changes(connection: Connection, events: Sequence[ChangeEvent]) -> None:
    """Mark the pushed twins of changed records: dirty on insert/update, deleted on delete."""
    targets: dict[tuple[RecordKind, bool], set[str]] = defaultdict(set)
    for ev in events:
        targets[(ev.kind, ev.op is ChangeOp.DELETE)].add(ev.local_id)
    table = SyncRecord.__table__
    now = utcnow()
    for (kind, deleted), ids in targets.items():
        values: dict[str, object] = {"dirty": True, "updated_at": now}
        if deleted:
            values["deleted"] = True
        connection.execute(
            sa.update(table)
            .where(table.c.kind == kind.value, table.c.local_id.in_(sorted(ids)))
            .values(**values)
        )
