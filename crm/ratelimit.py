"""Sign-in attempts, rate-limited per submitted username and per address (Flask-Limiter), counted
on the Redis the app already uses: REDIS_URL, or the plugin's embedded server, reached on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import redis
from flask import Flask, Response, current_app, flash, render_template, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits.storage import RedisStorage

TOO_MANY = "Too many sign-in attempts. Try again in a minute."
DEFAULTS = {
    "BACKOFFICE_LOGIN_LIMIT_PER_USER": "5/minute",
    "BACKOFFICE_LOGIN_LIMIT_PER_ADDRESS": "20/minute",
}
STORAGE_URI = "backoffice+redis://"  # AppRedisStorage below
LIMITER_KEY = "backoffice_limiter"


class AppRedisStorage(RedisStorage):
    """limits' Redis storage on a URL known only when first needed: the embedded Redis starts
    on first use, so creating the app (a CLI command, the demo's supervisor) starts nothing."""

    STORAGE_SCHEME = ["backoffice+redis"]

    def __init__(self, uri: str, redis_url: Callable[[], str], **options: Any) -> None:
        self._redis_url = redis_url
        self._client: redis.Redis | None = None
        # RedisStorage.__init__ would connect now; take its attributes without the connection.
        super(RedisStorage, self).__init__(uri, wrap_exceptions=False)
        self.key_prefix = RedisStorage.PREFIX
        self.target_server = "redis"
        self.dependency = self.dependencies["redis"].module

    def initialize_storage(self, _uri: str) -> None:
        """Scripts are registered on the first connection (get_connection)."""

    def __getattr__(self, name: str) -> Any:
        """The lua_* scripts exist once connected: connect on first use."""
        if name.startswith("lua_") and self.__dict__.get("_client") is None:
            self.get_connection()
            return getattr(self, name)
        raise AttributeError(name)

    def get_connection(self, readonly: bool = False) -> Any:
        if self._client is None:
            self._client = redis.Redis.from_url(
                self._redis_url(), socket_timeout=5, socket_connect_timeout=5
            )
            super().initialize_storage("")
        return self._client


def _username_key() -> str:
    return "user:" + (request.form.get("username") or "").strip().casefold()


def _address_key() -> str:
    return "addr:" + (get_remote_address() or "")


def _limit(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config.get(name) or DEFAULTS[name])


def _too_many(limit: RequestLimit) -> Response:
    """The sign-in page again, saying why, with 429 Too Many Requests (a flask Response: the
    limiter uses no other kind)."""
    from .auth import LoginForm  # the form lives with the login view

    flash(TOO_MANY, "error")
    return Response(render_template("login.html", form=LoginForm()), status=429)


def init_login_limits(app: Flask, redis_url: Callable[[], str]) -> Limiter:
    """Limit POST /login per username and per address; the limiter is app.extensions[LIMITER_KEY]
    (its `reset()` forgets every count)."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    limiter = Limiter(
        get_remote_address,
        storage_uri=STORAGE_URI,
        storage_options=cast(dict[str, str | int], {"redis_url": redis_url}),
        key_prefix="backoffice_login",
        strategy="fixed-window",
    )
    limiter.init_app(app)
    view = app.view_functions["auth.login"]
    for key, setting in (
        (_username_key, "BACKOFFICE_LOGIN_LIMIT_PER_USER"),
        (_address_key, "BACKOFFICE_LOGIN_LIMIT_PER_ADDRESS"),
    ):
        view = limiter.limit(_limit(setting), key_func=key, methods=["POST"], on_breach=_too_many)(
            view
        )
    app.view_functions["auth.login"] = view
    app.extensions[LIMITER_KEY] = limiter
    return limiter
