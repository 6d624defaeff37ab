"""Stable local ids for QuickBooks list entries known by name (items, payment methods)."""

from __future__ import annotations

import hashlib


def name_key(name: str) -> str:
    """A stable local id for a list entry known by name: case-insensitive, 40 hex."""
    return hashlib.sha256(name.casefold().encode("utf-8")).hexdigest()[:40]
