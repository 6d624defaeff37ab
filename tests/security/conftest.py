"""Fixtures of the security tests: the app with NO app context pushed while a test's requests
run (a pushed context would share `g`, hence the signed-in user and the CSRF token, between
test clients), its tables emptied and its sign-in counts forgotten around each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from crm.models import db
from crm.ratelimit import LIMITER_KEY
from tests.conftest import _all_tables


@pytest.fixture
def site(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        app.extensions[LIMITER_KEY].reset()
    yield app
    with app.app_context():
        db.session.rollback()
        for table in _all_tables():
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


def variant(site: Flask, **overrides: Any) -> Flask:
    """Another app on the same database and Redis as `site`, with some settings changed."""
    from host_app import create_app

    config = {k: v for k, v in site.config.items() if k.startswith(("QBO_SYNC_", "SQLALCHEMY_"))}
    config.update(TESTING=True, SECRET_KEY="variant-secret", REDIS_URL=site.config["REDIS_URL"])
    config.update(overrides)
    return create_app(config)
