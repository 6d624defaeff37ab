"""`flask qbo ...`: the plugin's command line (thin wrappers over jobs and the engine)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup


class QBOGroup(AppGroup):
    """The `qbo` group; `qbo emulator` is loaded only when asked for."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulator":
            from qbo_emulator.cli import emulator_command

            return emulator_command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulator"})


qbo = QBOGroup("qbo", help="QuickBooks Online sync.")


@qbo.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for the plugin's queue."""
    from rq import Queue, SimpleWorker

    st = current_app.extensions["qbo_sync"]
    queue = Queue(st.settings.queue, connection=st.redis)
    SimpleWorker([queue], connection=st.redis).work(burst=burst)
