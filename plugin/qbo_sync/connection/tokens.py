"""Encryption of OAuth tokens at rest: Fernet keys from QBO_SYNC_TOKEN_KEY, rotation-ready."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..config import Settings
from ..errors import ConfigurationError, TokenUnreadable

UNREADABLE = (
    "The stored QuickBooks connection can't be read with the configured key; "
    "press Setup Authentication to reconnect."
)


def generate_key() -> str:
    """A new Fernet key (url-safe base64, 44 characters) for QBO_SYNC_TOKEN_KEY."""
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts with the first key of a comma-separated list; decrypts with any of them."""

    def __init__(self, token_key: str) -> None:
        keys = [k.strip() for k in (token_key or "").split(",") if k.strip()]
        if not keys:
            raise ConfigurationError(
                "QBO_SYNC_TOKEN_KEY is not set: generate one with "
                "`python -c 'from qbo_sync.connection import generate_key; print(generate_key())'`"
            )
        fernets = []
        for n, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                raise ConfigurationError(
                    f"QBO_SYNC_TOKEN_KEY: key {n} of {len(keys)} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes)"
                ) from exc
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        return cls(settings.token_key)

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, token_enc: str) -> str:
        """The plain token; TokenUnreadable (a ReconnectNeeded) when no key decrypts it."""
        try:
            return self._fernet.decrypt(token_enc.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise TokenUnreadable(UNREADABLE) from exc

    def readable(self, token_enc: str) -> bool:
        try:
            self.decrypt(token_enc)
        except TokenUnreadable:
            return False
        return True

    def rotate(self, token_enc: str) -> str:
        """Re-encrypt a stored token with the first (newest) key (TokenUnreadable: no key opens
        it)."""
        try:
            return self._fernet.rotate(token_enc.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise TokenUnreadable(UNREADABLE) from exc
