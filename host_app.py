"""The back office (host app): `create_app()` wires the CRM, its admin, login and the QBO plugin.

Configuration comes from the environment: DATABASE_URL (default: SQLite under instance/),
REDIS_URL (unset: an embedded Redis), SECRET_KEY (generated once under instance/ when unset),
BACKOFFICE_HTTPS and BACKOFFICE_PROXY_HOPS (crm/security.py), BACKOFFICE_LOGIN_LIMIT_PER_USER
and _PER_ADDRESS (crm/ratelimit.py). instance/ and everything created in it are private.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask, url_for
from flask_login import current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from qbo_sync import QBOSync

from crm.admin import build_admin, is_signed_in, to_login
from crm.auth import init_auth
from crm.cli import demo_cli, users_cli
from crm.files import create_once, precreate_sqlite, private_dir
from crm.models import db
from crm.ratelimit import init_login_limits
from crm.security import init_security
from crm.source import CRMSourceAdapter

ROOT = Path(__file__).resolve().parent
migrate = Migrate()
csrf = CSRFProtect()


def _instance_secret(instance: Path, name: str, make: Callable[[], str]) -> str:
    """A secret kept in a private file under instance/, created once (racing processes agree)."""
    return create_once(instance / name, make)


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def _signed_in_name() -> str | None:
    """The signed-in user's name, for the runs they start (None outside a signed-in request)."""
    return str(current_user.username) if current_user.is_authenticated else None


def create_app(
    config: Mapping[str, Any] | None = None, instance_path: str | os.PathLike[str] | None = None
) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(instance_path or ROOT / "instance"),
        template_folder=str(ROOT / "crm" / "templates"),
        static_folder=str(ROOT / "crm" / "static"),
    )
    app.config.from_mapping(config or {})
    instance = Path(app.instance_path)
    private_dir(instance)
    env = os.environ
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        env.get("DATABASE_URL") or f"sqlite:///{instance / 'backoffice.db'}",
    )
    app.config.setdefault("REDIS_URL", env.get("REDIS_URL") or None)
    # A pooled connection the database dropped (a restart, a failover) is replaced, not used.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if not app.config.get("SECRET_KEY"):  # Flask's default config holds None
        app.config["SECRET_KEY"] = env.get("SECRET_KEY") or _instance_secret(
            instance, "secret_key", lambda: secrets.token_hex(32)
        )
    if not (app.config.get("QBO_SYNC_TOKEN_KEY") or env.get("QBO_SYNC_TOKEN_KEY")):
        app.config["QBO_SYNC_TOKEN_KEY"] = _instance_secret(
            instance, "qbo_token_key", lambda: Fernet.generate_key().decode()
        )
    precreate_sqlite(app.config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    init_auth(app)
    admin = build_admin()
    admin.init_app(app)

    def crm_url(kind: str, id_: int) -> str | None:
        endpoint = {
            "customer": "customer.edit_view",
            "sale": "sale.edit_view",
            "receipt": "receipt.edit_view",
            "adjustment": "receipt.edit_view",
        }.get(kind)
        return url_for(endpoint, id=id_) if endpoint else None

    source = CRMSourceAdapter(url_for=crm_url)
    source.init_app(app)
    QBOSync(
        db,
        source,
        admin=admin,
        is_accessible=is_signed_in,
        on_inaccessible=to_login,
        user_name=_signed_in_name,
    ).init_app(app)
    init_security(app, admin)  # after the plugin's views: their actions are in the CSP
    state = app.extensions["qbo_sync"]
    init_login_limits(app, redis_url=lambda: state.redis_url)  # the plugin's Redis
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    return app
