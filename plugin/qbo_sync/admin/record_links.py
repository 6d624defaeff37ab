"""The "QuickBooks history" row action the host adds to its Sale, Customer and Receipt lists:
each row links to its record's timeline (the plugin's `.timeline` page).

The host mixes `QuickBooksHistoryMixin` into a ModelView (before ModelView); the record's kind
is the model's table name ("sale", "customer", "receipt"), or a receipt row's own kind
("adjustment").
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_admin.model.template import LinkRowAction

from ..source import RecordKind

TIMELINE_ENDPOINT = "qbo.timeline"  # the plugin's admin view is registered as endpoint "qbo"
ACTION_TITLE = "QuickBooks history"
KINDS = {k.value for k in RecordKind}


def record_kind(model: Any, row: Any) -> RecordKind:
    """The record's kind: a row's own `kind` when it names one (an adjustment), else its
    table's."""
    own = getattr(row, "kind", None)
    if isinstance(own, str) and own in KINDS:
        return RecordKind(own)
    return RecordKind(str(model.__tablename__))


class QuickBooksHistoryMixin:
    """Adds the "QuickBooks history" link to each row of the host's list view."""

    model: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        actions = list(getattr(self, "column_extra_row_actions", None) or [])
        actions.append(LinkRowAction("fa fa-history", self._timeline_url, ACTION_TITLE))
        self.column_extra_row_actions = actions
        super().__init__(*args, **kwargs)

    def _timeline_url(self, action: LinkRowAction, row_id: str, row: Any) -> str:
        kind = record_kind(self.model, row)
        return url_for(TIMELINE_ENDPOINT, record_kind=kind.value, local_id=str(row_id))
