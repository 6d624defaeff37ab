"""One migration history for host and plugin tables, in step with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from qbo_sync.models import Base as PluginBase

from crm.models import db


def test_models_and_migration_head_agree(app_ctx: Flask) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [db.metadata, PluginBase.metadata])
    assert diff == [], f"models and migrations disagree; run `flask db migrate`: {diff}"


def test_every_plugin_table_has_the_prefix(app_ctx: Flask) -> None:
    assert PluginBase.metadata.tables
    assert all(name.startswith("qbo_sync_") for name in PluginBase.metadata.tables)
    assert not set(PluginBase.metadata.tables) & set(db.metadata.tables)
