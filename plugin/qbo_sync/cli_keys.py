"""`flask qbo rotate-key`: every stored token re-encrypted under the first QBO_SYNC_TOKEN_KEY key.

Rotation: put the new key first (`QBO_SYNC_TOKEN_KEY=NEW,OLD`), run `flask qbo rotate-key`, then
drop OLD from the list; tokens it encrypted would otherwise be unreadable (reconnect needed).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .connection import TokenCipher, rotate_tokens
from .errors import QBOSyncError
from .oauth_state import rotate_pending
from .state import QBOSyncState


@click.command("rotate-key")
@with_appcontext
def rotate_key_command() -> None:
    """Re-encrypt every stored QuickBooks token under the first QBO_SYNC_TOKEN_KEY key.

    All in one transaction: when a token opens with no configured key, nothing is rewritten."""
    st: QBOSyncState = current_app.extensions["qbo_sync"]
    try:
        cipher = TokenCipher.from_settings(st.settings)
        rewritten = rotate_tokens(st.db.session(), cipher)
    except QBOSyncError as exc:
        raise click.ClickException(
            f"{exc} Nothing was rewritten: keep the old key in QBO_SYNC_TOKEN_KEY (after the new "
            "one) until rotate-key succeeds."
        ) from exc
    held = rotate_pending(st.redis, cipher)
    click.echo(
        f"Re-encrypted {rewritten} stored token(s) under the first key"
        + (f" and {held} connection(s) awaiting confirmation" if held else "")
        + "; keys after the first may now be removed from QBO_SYNC_TOKEN_KEY."
    )
