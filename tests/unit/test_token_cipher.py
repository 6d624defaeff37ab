"""Token encryption at rest: rotation-ready MultiFernet, clear errors on bad keys."""

from __future__ import annotations

import pytest
from qbo_sync.connection import TokenCipher, TokenSet, generate_key
from qbo_sync.errors import ConfigurationError, ReconnectNeeded


def test_round_trip_and_rotation() -> None:
    old, new = generate_key(), generate_key()
    stored = TokenCipher(old).encrypt("RT1-secret")
    assert "RT1-secret" not in stored
    both = TokenCipher(f"{new}, {old}")
    assert both.decrypt(stored) == "RT1-secret"
    rotated = both.rotate(stored)
    assert TokenCipher(new).decrypt(rotated) == "RT1-secret"
    assert both.readable(stored) and TokenCipher(new).readable(rotated)
    # a token no configured key opens: reconnect needed, in plain words
    assert not TokenCipher(new).readable(stored)
    with pytest.raises(ReconnectNeeded, match="can't be read with the configured key"):
        TokenCipher(new).decrypt(stored)
    with pytest.raises(ReconnectNeeded, match="press Setup Authentication to reconnect"):
        TokenCipher(new).rotate(stored)


@pytest.mark.parametrize("key", ["", " , ", "not-a-key"])
def test_missing_or_invalid_key(key: str) -> None:
    with pytest.raises(ConfigurationError, match="QBO_SYNC_TOKEN_KEY"):
        TokenCipher(key)


def test_token_set_repr_hides_tokens() -> None:
    from datetime import UTC, datetime

    ts = TokenSet("AT-secret", "RT-secret", datetime(2026, 1, 1, tzinfo=UTC), None)
    assert "secret" not in repr(ts)
