"""The "QuickBooks Online Sync" admin view: connection profiles per market segment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_admin import BaseView, expose
from werkzeug.wrappers import Response

from ..models import SyncProfile


class QBOSyncView(BaseView):
    def __init__(
        self,
        is_accessible: Callable[[], bool],
        on_inaccessible: Callable[[], Response],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._is_accessible = is_accessible
        self._on_inaccessible = on_inaccessible

    def is_accessible(self) -> bool:
        return self._is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return self._on_inaccessible()

    @expose("/")
    def index(self) -> str:
        db = current_app.extensions["qbo_sync"].db
        profiles = db.session.scalars(
            sa.select(SyncProfile).order_by(SyncProfile.segment_name)
        ).all()
        return self.render("qbo_sync/index.html", profiles=profiles)
