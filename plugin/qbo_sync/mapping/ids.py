"""Deterministic QuickBooks request ids: one per operation, so a resent operation replays.

A request id names one operation on one document: company, document (kind and local id),
operation (create, update, void, delete) and its generation (the document's operation count).
Two different operations never share an id, so QuickBooks' replay of an id is always the
answer to the question that id asked, even after the document was deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def operation_request_id(
    realm_id: str, kind: str, local_id: str, operation: str, generation: int
) -> str:
    """``"<kind[:3]><op[0]>-<31 hex>"``: 36 characters, within QuickBooks' batch limit too."""
    key = f"{realm_id}|{kind}|{local_id}|{operation}|{generation}"
    return f"{kind[:3]}{operation[:1]}-" + _digest(key, 31)


def batch_request_id(realm_id: str, members: Iterable[str]) -> str:
    """The `requestid` of a batch, from its members' request ids (order-free): 36 characters."""
    key = ",".join(sorted(members))
    return "b-" + _digest(f"{realm_id}|{key}", 34)
