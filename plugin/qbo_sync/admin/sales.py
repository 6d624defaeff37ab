"""What the plugin adds to the host's Sale list: the bulk action "Push to QuickBooks Online".

The host mixes `SalePushMixin` into its Sale ModelView; the action queues, for each connected
profile whose scope holds some of the selected sales, a run limited to those sales (with their
customers and receipts).
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from flask import current_app, flash
from flask_admin.actions import action

from ..models import SyncProfile


class SalePushMixin:
    @action(
        "push_to_qbo",
        "Push to QuickBooks Online",
        "Push the selected sales to QuickBooks Online now?",
    )
    def action_push_to_qbo(self, ids: list[str]) -> None:
        from ..engine.plan import sales_in_scope
        from ..jobs import start_sync

        st = current_app.extensions["qbo_sync"]
        profiles = st.db.session.scalars(sa.select(SyncProfile).order_by(SyncProfile.id)).all()
        chosen: dict[int, list[str]] = defaultdict(list)
        placed: set[str] = set()
        for profile in profiles:
            if not profile.is_connected:
                continue
            for sale in sales_in_scope(st.source, profile, ids):
                chosen[profile.id].append(sale.id)
                placed.add(sale.id)
        for profile in profiles:
            if profile.id not in chosen:
                continue
            run, new = start_sync(profile, sale_ids=chosen[profile.id], trigger="bulk action")
            if new:
                flash(
                    f"Pushing {len(chosen[profile.id])} sale(s) to {profile.company_name} "
                    f"({profile.segment_name}).",
                    "success",
                )
            else:
                flash(
                    f"{profile.segment_name} is already synchronizing; the selected sales "
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
