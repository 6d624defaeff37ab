"""The migration that gives every user a session token (a7c3e9d41b52), on a database with users:
each gets a token of its own, sessions of the old kind end, and the downgrade takes it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from crm.models import db
from tests.test_migration import TOKEN_KEY, T
from tests.test_migration import database_url as database_url  # a scratch database per test

BEFORE = "e2e0f46931b0"
THIS = "a7c3e9d41b52"  # the migration under test (later ones may follow it)


@pytest.fixture
def before(database_url: str, redis_url: str) -> Iterator[Flask]:
    """The app on that database at the revision before, with two users."""
    from host_app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "QBO_SYNC_TOKEN_KEY": TOKEN_KEY,
            "QBO_SYNC_ENVIRONMENT": "emulator",
        }
    )
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for uid, name in ((1, "office"), (2, "owner")):
                conn.execute(
                    sa.text(
                        "INSERT INTO user_account (id, username, password_hash, created_at, "
                        "updated_at) VALUES (:id, :name, 'x', :t, :t)"
                    ),
                    {"id": uid, "name": name, "t": T},
                )
        yield app
        db.engine.dispose()


def users() -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM user_account ORDER BY id"))]


def test_every_user_gets_a_token_of_its_own_and_the_downgrade_removes_it(before: Flask) -> None:
    upgrade(revision=THIS)
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("user_account")}
    assert columns["session_token"]["nullable"] is False
    with db.engine.connect() as conn:
        tokens = conn.execute(
            sa.text("SELECT id, session_token FROM user_account ORDER BY id")
        ).all()
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version == THIS
    assert [t[0] for t in tokens] == [1, 2]
    assert len({t[1] for t in tokens}) == 2 and all(len(t[1]) >= 40 for t in tokens)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # unique
        conn.execute(
            sa.text("UPDATE user_account SET session_token = :t WHERE id = 2"), {"t": tokens[0][1]}
        )
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            sql = conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'user_account'")
            ).scalar_one()
        assert "AUTOINCREMENT" in sql.upper()  # a deleted user's id is still never reused

    downgrade(revision=BEFORE)
    assert "session_token" not in {
        c["name"] for c in sa.inspect(db.engine).get_columns("user_account")
    }
    assert [u[:2] for u in users()] == [(1, "office"), (2, "owner")]
    upgrade()
    assert len({u for u in users()}) == 2
