"""What the plugin adds to the host's Sale list: the bulk action "Push to QuickBooks Online"
and the column "QuickBooks" (each sale's state: not pushed, synced, needs update, failed, blocked).

The host mixes `SalePushMixin` into its Sale ModelView; the action queues, for each connected
profile whose scope holds some of the selected sales, a run limited to those sales (with their
customers and receipts). For the column the host lists `QBO_STATE_COLUMN` ("qbo_state") in its
`column_list`; the mixin adds the formatter and the label itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, g
from flask_admin.actions import action
from markupsafe import Markup

from ..links import document_url
from ..models import Company, DocKind, RecordStatus, RunTrigger, SyncDocument, SyncProfile

QBO_STATE_COLUMN = "qbo_state"
STATE_LABEL = "QuickBooks"
# Worst first: a sale in two profiles (its segment's and "All segments") shows the worse state.
STATES = ("failed", "blocked", "needs update", "pending", "synced", "voided", "not pushed")
BADGES = {
    "failed": "badge-danger",
    "blocked": "badge-warning",
    "needs update": "badge-info",
    "pending": "badge-light",
    "synced": "badge-success",
    "voided": "badge-secondary",
    "not pushed": "badge-secondary",
}


def record_state(rec: SyncDocument) -> str:
    if rec.status is RecordStatus.FAILED:
        return "failed"
    if rec.status is RecordStatus.BLOCKED:
        return "blocked"
    if rec.status is RecordStatus.NEEDS_UPDATE or (rec.status is RecordStatus.SYNCED and rec.dirty):
        return "needs update"
    if rec.status is RecordStatus.SYNCED:
        return "synced" if rec.live else "voided"
    return "pending" if rec.qbo_id or rec.op_request_id else "not pushed"


@dataclass
class SaleState:
    """A sale's QuickBooks state over every company, and where its invoice opens there."""

    state: str = "not pushed"
    places: list[str] = field(default_factory=list)  # "Company A: synced"
    links: list[tuple[str, str]] = field(default_factory=list)  # (company, invoice URL)


def sale_states(sale_ids: Iterable[Any]) -> dict[str, SaleState]:
    """sale id -> its state (the worst over the companies it concerns), in one query."""
    ids = [str(i) for i in sale_ids]
    st = current_app.extensions["qbo_sync"]
    rows = st.db.session.execute(
        sa.select(SyncDocument, Company.company_name, Company.realm_id)
        .join(Company, Company.id == SyncDocument.company_id)
        .where(SyncDocument.kind == DocKind.INVOICE, SyncDocument.local_id.in_(ids))
        .order_by(Company.id)
    ).all()
    out: dict[str, SaleState] = {}
    for rec, company, realm in rows:
        state = record_state(rec)
        found = out.setdefault(rec.local_id, SaleState())
        found.state = min(state, found.state, key=STATES.index)
        found.places.append(f"{company or realm}: {state}")
        url = document_url(st.settings, realm, DocKind.INVOICE, rec.qbo_id) if rec.live else None
        if url:
            found.links.append((company or realm, url))
    return out


def qbo_state_formatter(view: Any, context: Any, model: Any, name: str) -> Markup:
    """The badge, and a link to the invoice in each company that holds it live."""
    cache: dict[str, SaleState] | None = getattr(g, "qbo_sale_states", None)
    key = str(model.id)
    if cache is None or (key not in cache and key not in getattr(g, "qbo_sale_ids", ())):
        cache = sale_states([key])
    found = cache.get(key, SaleState())
    html = Markup('<span class="badge {}" title="{}">{}</span>').format(
        BADGES[found.state], "; ".join(found.places), found.state
    )
    for company, url in found.links:
        html += Markup(
            ' <a class="qbo-open small" href="{}" target="_blank" rel="noopener" '
            'title="Open invoice {} in {}">Open in QuickBooks</a>'
        ).format(url, model.number, company)
    return html


class SalePushMixin:
    """Mix into the host's Sale ModelView (before ModelView) for the action and the column."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        formatters = dict(getattr(self, "column_formatters", None) or {})
        formatters.setdefault(QBO_STATE_COLUMN, qbo_state_formatter)
        self.column_formatters = formatters
        labels = dict(getattr(self, "column_labels", None) or {})
        labels.setdefault(QBO_STATE_COLUMN, STATE_LABEL)
        self.column_labels = labels
        super().__init__(*args, **kwargs)

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        """The page's sales, and their QuickBooks states in one query for the column."""
        count, data = super().get_list(*args, **kwargs)  # type: ignore[misc]
        if QBO_STATE_COLUMN in (getattr(self, "column_list", None) or ()) and isinstance(
            data, list
        ):
            g.qbo_sale_ids = {str(m.id) for m in data}
            g.qbo_sale_states = sale_states(g.qbo_sale_ids)
        return count, data

    @action(
        "push_to_qbo",
        "Push to QuickBooks Online",
        "Push the selected sales to QuickBooks Online now?",
    )
    def action_push_to_qbo(self, ids: list[str]) -> None:
        from ..jobs import start_sync

        st = current_app.extensions["qbo_sync"]
        profiles = st.db.session.scalars(sa.select(SyncProfile).order_by(SyncProfile.id)).all()
        chosen: dict[int, set[str]] = {}  # company id -> sale ids
        first: dict[int, SyncProfile] = {}
        placed: set[str] = set()
        for profile in profiles:
            if not profile.is_connected or profile.company_id is None:
                continue
            scope = st.source.scope(profile.segment_key, profile.sync_after, ids)
            if scope.sale_ids:
                chosen.setdefault(profile.company_id, set()).update(scope.sale_ids)
                first.setdefault(profile.company_id, profile)
                placed.update(scope.sale_ids)
        for company_id, sale_ids in chosen.items():
            profile = first[company_id]
            picked = sorted(sale_ids, key=lambda s: (len(s), s))
            run, new = start_sync(
                profile,
                sale_ids=picked,
                trigger=RunTrigger.BULK_ACTION,
                started_by=st.user_name(),
            )
            if new:
                flash(
                    f"Pushing {len(picked)} sale(s) to {profile.company_name}.",
                    "success",
                )
            else:
                flash(
                    f"{profile.company_name} is already synchronizing; the selected sales "
                    "are pushed when it is done only if that run includes them. Try again "
                    "after it ends.",
                    "warning",
                )
        left = len(set(map(str, ids)) - placed)
        if left:
            flash(
                f"{left} selected sale(s) are in no connected workbook's scope (market segment "
                "and Sync Data After date) and were not pushed.",
                "warning",
            )
