"""Deterministic QuickBooks request ids, so a resumed run replays instead of writing twice."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def request_id(profile_id: int | str, kind: str, local_id: str, version: int) -> str:
    """The `requestid` of one write: ``"<kind[:3]>-<32 hex of sha256(profile|kind|id|version)>"``.

    At most 36 characters, so it also fits where QuickBooks allows only 36 (batch). The same
    inputs always give the same id; any change of profile, kind, record or payload version gives
    another.
    """
    return f"{kind[:3]}-" + _digest(f"{profile_id}|{kind}|{local_id}|{version}", 32)


def batch_request_id(profile_id: int | str, kind: str, members: Iterable[tuple[str, int]]) -> str:
    """The `requestid` of a batch: derived from its (local id, version) members, order-free.

    36 characters: ``"b" + kind[:3] + "-" + 31 hex``.
    """
    key = ",".join(f"{local_id}@{version}" for local_id, version in sorted(members))
    return f"b{kind[:3]}-" + _digest(f"{profile_id}|{kind}|{key}", 31)
