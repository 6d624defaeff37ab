"""A stable fingerprint of a QuickBooks payload, to skip pushing what did not change."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of canonical JSON: sorted keys, no spaces, Decimals and dates as strings."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
