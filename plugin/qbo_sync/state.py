"""What the plugin keeps per app (app.extensions["qbo_sync"]), and how modules reach it.

A leaf module: everything may import it, it imports nothing of the plugin's that imports back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session

from . import redis_conn
from .config import Settings
from .models import Base, Company
from .source import CRMSource

EXTENSION_KEY = "qbo_sync"


def _nobody() -> str | None:
    return None


@dataclass
class QBOSyncState:
    """What the plugin keeps per app, in app.extensions["qbo_sync"]."""

    settings: Settings
    db: SQLAlchemy
    source: CRMSource
    instance_path: str
    configured_redis_url: str | None = None
    metadata: Any = field(default=Base.metadata)
    # The signed-in user's name, as the host tells it (recorded on the runs a user starts).
    user_name: Callable[[], str | None] = _nobody
    _redis: redis.Redis | None = None

    @property
    def redis_url(self) -> str:
        """REDIS_URL, or an embedded server under instance/ started on first use."""
        return self.configured_redis_url or redis_conn.embedded_url(
            Path(self.instance_path) / "redis.db"
        )

    def engine_args(
        self, company: Company
    ) -> tuple[Session, Settings, CRMSource, Company, redis.Redis, Callable[[], Session]]:
        """What the engine's read-only entry points (preview, books check) take, in order."""
        engine = self.db.engine
        return (
            self.db.session(),
            self.settings,
            self.source,
            company,
            self.redis,
            lambda: Session(engine),
        )

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis_conn.connect(self.redis_url)
        return self._redis


def qbo_state() -> QBOSyncState:
    """The plugin's state of the app in use."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
