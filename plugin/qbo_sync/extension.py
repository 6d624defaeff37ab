"""The Flask extension: settings, Redis, admin view, templates and the `flask qbo` commands."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_sqlalchemy import SQLAlchemy
from werkzeug.wrappers import Response

from .changes import record_changes
from .config import check_environment, load_settings
from .source import CRMSource
from .state import EXTENSION_KEY, QBOSyncState


class QBOSync:
    """`QBOSync(db, source, admin=..., is_accessible=..., on_inaccessible=...).init_app(app)`.

    The host owns the Admin object, login and CSRF; it tells the plugin how to check access,
    where to send a visitor who is not signed in and, optionally (`user_name`), the name of
    the signed-in user, kept on the runs that user starts.
    """

    def __init__(
        self,
        db: SQLAlchemy,
        source: CRMSource,
        *,
        admin: Admin,
        is_accessible: Callable[[], bool],
        on_inaccessible: Callable[[], Response],
        user_name: Callable[[], str | None] | None = None,
        app: Flask | None = None,
    ) -> None:
        self.db = db
        self.source = source
        self.admin = admin
        self.is_accessible = is_accessible
        self.on_inaccessible = on_inaccessible
        self.user_name = user_name
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("QBOSync is already initialised on this app")
        settings = load_settings(app.config)
        check_environment(settings, debug_or_testing=bool(app.debug or app.testing))
        state = QBOSyncState(
            settings, self.db, self.source, app.instance_path, app.config.get("REDIS_URL")
        )
        if self.user_name is not None:
            state.user_name = self.user_name
        app.extensions[EXTENSION_KEY] = state
        app.register_blueprint(
            Blueprint(
                "qbo_sync",
                __name__,
                template_folder="templates",
                static_folder="static",
                static_url_path="/static/qbo_sync",
            )
        )
        from .admin.views import QBOSyncView
        from .cli import qbo

        self.admin.add_view(
            QBOSyncView(
                self.is_accessible,
                self.on_inaccessible,
                name="QuickBooks Online Sync",
                endpoint="qbo",
                url="qbo",
            )
        )
        app.cli.add_command(qbo)
        self.source.watch(record_changes)
