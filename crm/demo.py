"""`make demo`: the whole product on its embedded defaults, in one command, stopped by Ctrl-C.

Runs the migrations, seeds the CRM once, then starts and supervises: an embedded Redis (unless
REDIS_URL is set), the QuickBooks Online emulator, an RQ worker and the admin web server.
Ctrl-C (or any child dying) stops every process it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError

import click
import sqlalchemy as sa
from flask import current_app
from flask_migrate import upgrade
from qbo_sync.redis_conn import EmbeddedRedis

from .files import precreate_sqlite, write_private
from .models import Customer, User, db
from .seed import seed

DEMO_USER = "admin"


def _prepare(instance: Path) -> str:
    """Migrate, seed the first time, and make sure the demo user exists; return its password."""
    upgrade()
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Customer)):
        counts = seed(customers=200, seed_value=1)
        click.echo(f"Seeded {counts.customers} customers and {counts.sales} sales.")
    login_file = instance / "demo_login"
    user = db.session.scalar(sa.select(User).filter_by(username=DEMO_USER))
    if user is None or not login_file.exists():
        password = secrets.token_urlsafe(9)
        user = user or User(username=DEMO_USER)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        write_private(login_file, password)
    return login_file.read_text().strip()


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"{url} did not start (exit status {proc.returncode}).")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except (URLError, OSError):
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f}s.")


def run_demo(port: int, emulator_port: int) -> None:
    instance = Path(current_app.instance_path)
    password = _prepare(instance)
    env = dict(os.environ)
    env.setdefault("BACKOFFICE_HTTPS", "0")  # the demo serves plain http://127.0.0.1
    redis_server = None
    if not current_app.config.get("REDIS_URL"):
        redis_server = EmbeddedRedis(instance / "redis.db")
        env["REDIS_URL"] = redis_server.url
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    client_id = "demo-backoffice"
    client_secret = instance / "demo_client_secret"
    if not client_secret.exists():
        write_private(client_secret, secrets.token_urlsafe(24))
    redirect_uri = f"http://127.0.0.1:{port}/admin/qbo/callback"
    env.update(
        {
            "QBO_SYNC_ENVIRONMENT": "emulator",
            "QBO_SYNC_ALLOW_EMULATOR": "1",  # a demo on this machine (the emulator on loopback)
            "QBO_SYNC_EMULATOR_URL": emulator_url,
            "QBO_SYNC_CLIENT_ID": client_id,
            "QBO_SYNC_CLIENT_SECRET": client_secret.read_text().strip(),
            "QBO_SYNC_REDIRECT_URI": redirect_uri,
        }
    )
    precreate_sqlite(f"sqlite:///{instance / 'qbo_emulator.db'}")  # private like the rest
    shared = {k: v for k, v in env.items() if k.startswith("QBO_SYNC_") or k == "REDIS_URL"}
    env_file = instance / "demo.env"
    write_private(env_file, "".join(f"export {k}='{v}'\n" for k, v in sorted(shared.items())))
    flask = [sys.executable, "-m", "flask", "--app", "host_app"]
    specs = {
        "emulator": [
            sys.executable,
            "-m",
            "qbo_emulator",
            "--port",
            str(emulator_port),
            "--db",
            str(instance / "qbo_emulator.db"),
            "--client",
            f"{client_id}:{env['QBO_SYNC_CLIENT_SECRET']}:{redirect_uri}",
        ],
        "worker": [*flask, "qbo", "worker"],
        "web": [*flask, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # SIGTERM (a service manager, `timeout`) stops everything as Ctrl-C does, so the embedded
    # Redis and the children never outlive the demo.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for name, cmd in specs.items():
            procs[name] = subprocess.Popen(cmd, env=env)
            if name == "emulator":
                _wait_http(f"{emulator_url}/.well-known/openid_configuration", procs[name])
        _wait_http(f"http://127.0.0.1:{port}/login", procs["web"])
        click.echo(
            f"\n  Back office:  http://127.0.0.1:{port}/admin/\n"
            f"  Login:        {DEMO_USER} / {password}\n"
            f"  QBO emulator: {emulator_url}/  (workbook pages under /app/<realmId>/)\n"
            f"  CLI settings: . {env_file}  then  flask --app host_app qbo ...\n"
            "  Ctrl-C stops everything.\n"
        )
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        click.echo(f"Stopping: {', '.join(dead)} exited.", err=True)
    except KeyboardInterrupt:
        click.echo("\nStopping...")
    finally:
        _stop_all(procs)
        if redis_server is not None:
            redis_server.stop()


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
