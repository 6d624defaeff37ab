"""The Flask app factory: wires store, clock, the shared `state.Emulator` and the blueprints."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, Response

from . import api, documents, oauth, workbook
from . import control as control_api
from .clock import Clock
from .seed import ensure_companies, register_client
from .state import DEFAULT_DB, DROP_KEY, EXTENSION_KEY, Emulator
from .store import Store


class DropMiddleware:
    """Closes the client's connection without any response when a handler asked for it."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        result = self.app(environ, start_response)
        if not environ.get(DROP_KEY):
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionAbortedError("qbo_emulator dropped the connection on purpose")


def create_app(
    db_path: str | Path = DEFAULT_DB,
    clients: Sequence[tuple[str, str, str]] = (),
    latency_ms: float = 0,
    time_scale: float = 1.0,
    control: bool = False,
    limits: bool = True,
    companies: int = 2,
) -> Flask:
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    store = Store(db_path)
    emu = Emulator(
        store=store,
        clock=Clock(time_scale),
        latency_ms=latency_ms,
        control=control,
        limits=limits,
    )
    for client_id, secret, redirect_uri in clients:
        register_client(store, client_id, secret, redirect_uri)
    emu.realms = ensure_companies(store, emu.clock, companies)
    app.extensions[EXTENSION_KEY] = emu
    app.register_blueprint(oauth.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(control_api.blueprint)
    # the workbook blueprint, with the document pages `documents` adds to it
    app.register_blueprint(documents.blueprint)
    app.register_blueprint(workbook.home_blueprint)

    @app.after_request
    def add_tid(response: Response) -> Response:
        if "intuit_tid" not in response.headers:
            response.headers["intuit_tid"] = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        return response

    @app.teardown_request
    def close_connection(exc: BaseException | None) -> None:
        store.close_thread_connection()

    app.wsgi_app = DropMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app
