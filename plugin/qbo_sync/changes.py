"""Turns the host's change reports into a hint on sync state: a pushed document whose CRM
record changed is marked dirty ("needs update" in the Sale list).

Runs inside the host's flush, on its connection, so the mark commits with the change itself.
The engine never relies on these marks for correctness: every run compares what the CRM says
with what was recorded, so changes that bypass the ORM are found all the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import DocKind, SyncDocument, utcnow
from .source import ChangeEvent, RecordKind

DOCS_OF: dict[RecordKind, tuple[DocKind, ...]] = {
    RecordKind.CUSTOMER: (DocKind.CUSTOMER,),
    RecordKind.SALE: (DocKind.INVOICE,),
    RecordKind.RECEIPT: (DocKind.PAYMENT,),
    RecordKind.ADJUSTMENT: (DocKind.CREDIT_MEMO, DocKind.CREDIT_APPLICATION),
}


def record_changes(connection: Connection, events: Sequence[ChangeEvent]) -> None:
    """Mark the documents of changed CRM records dirty, in every company."""
    targets: dict[DocKind, set[str]] = defaultdict(set)
    for ev in events:
        for kind in DOCS_OF.get(ev.kind, ()):
            targets[kind].add(ev.local_id)
    table = cast(sa.Table, SyncDocument.__table__)
    now = utcnow()
    for kind, ids in targets.items():
        connection.execute(
            sa.update(table)
            .where(table.c.kind == kind.value, table.c.local_id.in_(sorted(ids)))
            .values(dirty=True, updated_at=now)
        )
