"""Secrets at rest: the instance folder and everything the app creates in it (keys, the SQLite
database and its -wal/-shm files) are private from the start, and racing processes that create
the keys end with the same ones."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.files import create_once
from crm.models import db
from crm.ratelimit import LIMITER_KEY

TOKEN_KEY = "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE="
ENV = ("DATABASE_URL", "SECRET_KEY", "QBO_SYNC_TOKEN_KEY")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def new_app(instance: Path, redis_url: str) -> Flask:
    """The app on its defaults: SQLite and generated keys under `instance`."""
    from host_app import create_app

    return create_app(
        {"TESTING": True, "REDIS_URL": redis_url, "QBO_SYNC_ENVIRONMENT": "emulator"},
        instance_path=instance,
    )


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database URL or key from the environment: the app makes its own under instance/."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("defaults")
def test_the_instance_folder_keys_and_database_are_private_from_the_start(
    tmp_path: Path, redis_url: str
) -> None:
    instance = tmp_path / "instance"
    app = new_app(instance, redis_url)
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == 0o600
    assert mode(instance / "qbo_token_key") == 0o600
    assert len((instance / "secret_key").read_text().strip()) == 64
    database = instance / "backoffice.db"
    assert mode(database) == 0o600  # before SQLite ever opened it
    with app.app_context():
        with db.engine.begin() as conn:  # WAL mode: the -wal and -shm files appear
            conn.execute(sa.text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
            files = {p.name: mode(p) for p in instance.iterdir()}
        db.engine.dispose()
    assert {"backoffice.db-wal", "backoffice.db-shm"} <= set(files)
    assert files == dict.fromkeys(files, 0o600), files


@pytest.mark.usefixtures("defaults")
def test_an_instance_folder_open_to_others_is_tightened(tmp_path: Path, redis_url: str) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    new_app(instance, redis_url)
    assert mode(instance) == 0o700


def _start(instance: str, redis_url: str, barrier: Any, out: Any) -> None:
    barrier.wait()  # every process creates the app at the same moment
    app = new_app(Path(instance), redis_url)
    out.put((app.config["SECRET_KEY"], app.config["QBO_SYNC_TOKEN_KEY"]))


def _create_key(path: str, barrier: Any, out: Any, n: int) -> None:
    def make() -> str:
        barrier.wait()  # every process has found no file, and makes its own key now
        return f"key of process {n}"

    out.put(create_once(Path(path), make))


def test_processes_that_all_find_no_key_file_end_with_the_same_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "secret_key"
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_create_key, args=(str(path), barrier, out, n)) for n in range(4)]
    for proc in procs:
        proc.start()
    keys = {out.get(timeout=60) for _ in procs}
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(keys) == 1 and keys == {path.read_text()}, keys
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


@pytest.mark.usefixtures("defaults")
def test_processes_starting_at_once_end_with_one_key(tmp_path: Path, redis_url: str) -> None:
    ctx = multiprocessing.get_context("fork")  # the children have host_app imported already
    for attempt in range(3):
        instance = tmp_path / f"instance-{attempt}"
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(target=_start, args=(str(instance), redis_url, barrier, out))
            for _ in range(4)
        ]
        for proc in procs:
            proc.start()
        keys = [out.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
        assert len(set(keys)) == 1, keys
        secret, token_key = keys[0]
        assert (instance / "secret_key").read_text().strip() == secret
        assert (instance / "qbo_token_key").read_text().strip() == token_key
        assert sorted(p.name for p in instance.iterdir()) == [
            "backoffice.db",
            "qbo_token_key",
            "secret_key",
        ]  # no temporary file left behind


@pytest.mark.usefixtures("defaults")
def test_sign_in_limits_use_the_plugins_embedded_redis_started_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from host_app import create_app

    monkeypatch.delenv("REDIS_URL", raising=False)
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True, "QBO_SYNC_ENVIRONMENT": "emulator"}, instance_path=instance)
    assert not (instance / "redis.db.settings").exists()  # creating the app started no Redis
    limiter = app.extensions[LIMITER_KEY]
    limiter.reset()  # the first use: the embedded server starts under instance/
    assert (instance / "redis.db.settings").exists()
    plugin_url = app.extensions["qbo_sync"].redis_url
    assert plugin_url.startswith("unix://")
    pool = limiter.storage.get_connection().connection_pool
    assert f"unix://{pool.connection_kwargs['path']}" == plugin_url  # one Redis for both
