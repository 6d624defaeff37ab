"""The connection to a QuickBooks company: OAuth calls, token encryption, token storage."""

from .oauth import TokenSet, authorization_url, exchange_code, refresh, revoke
from .store import CompanyTokens, apply_token_set, mark_unreadable, rotate_tokens
from .tokens import TokenCipher, generate_key

__all__ = [
    "CompanyTokens",
    "TokenCipher",
    "TokenSet",
    "apply_token_set",
    "authorization_url",
    "exchange_code",
    "generate_key",
    "mark_unreadable",
    "refresh",
    "revoke",
    "rotate_tokens",
]
