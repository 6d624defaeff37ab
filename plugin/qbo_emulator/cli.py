"""`qbo emulator` / `python -m qbo_emulator`: serve the emulator with a threaded werkzeug server."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import cast

import click
from werkzeug.serving import ThreadedWSGIServer, make_server

from .app import create_app
from .seed import demo_client
from .state import DEFAULT_DB, emulator


def _parse_client(value: str) -> tuple[str, str, str]:
    parts = value.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter("expected ID:SECRET:REDIRECT_URI", param_hint="--client")
    return parts[0], parts[1], parts[2]


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--db", "db_path", default=str(DEFAULT_DB), show_default=True, type=click.Path())
@click.option("--client", "clients", multiple=True, help="ID:SECRET:REDIRECT_URI (repeatable)")
@click.option("--latency-ms", default=0.0, show_default=True, type=float)
@click.option("--time-scale", default=1.0, show_default=True, type=float)
@click.option("--control", is_flag=True, help="Enable the /_emulator/ control API")
@click.option(
    "--no-limits",
    is_flag=True,
    help="Turn QBO's throttle off (no 429s, no in-flight cap): for scale benchmarks only",
)
@click.option(
    "--companies",
    default=2,
    show_default=True,
    type=click.IntRange(1, 26),
    help="Companies to offer (Company A, B, C, ...); never fewer than the two defaults",
)
def emulator_command(
    host: str,
    port: int,
    db_path: str,
    clients: tuple[str, ...],
    latency_ms: float,
    time_scale: float,
    control: bool,
    no_limits: bool,
    companies: int,
) -> None:
    """Run the local QuickBooks Online + Intuit OAuth emulator."""
    if time_scale <= 0:
        raise click.BadParameter("must be positive", param_hint="--time-scale")
    parsed = [_parse_client(c) for c in clients]
    app = create_app(
        db_path=Path(db_path),
        clients=parsed,
        latency_ms=latency_ms,
        time_scale=time_scale,
        control=control,
        limits=not no_limits,
        companies=companies,
    )
    with app.app_context():
        emu = emulator()
        if not parsed:
            client_id, secret, redirect_uri = demo_client(emu.store)
            click.echo(f"demo client id: {client_id}")
            click.echo(f"demo client secret: {secret}")
            click.echo(f"demo redirect URI: {redirect_uri}")
        for name, realm_id in emu.realms.items():
            click.echo(f"{name}: realmId {realm_id}")
    server = cast(ThreadedWSGIServer, make_server(host, port, app, threaded=True))
    server.daemon_threads = True
    base = f"http://{host}:{server.server_port}"
    click.echo(
        f"QBO emulator listening on {base} (discovery {base}/.well-known/openid_configuration)"
    )
    sys.stdout.flush()

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    click.echo("QBO emulator stopped")
