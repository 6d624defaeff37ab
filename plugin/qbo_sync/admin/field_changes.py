"""What a sent operation changed in QuickBooks: its body against the body sent before it for
the same document, both flattened to dotted paths ("Line.0.Amount"). Pure: no I/O.

Identity and bookkeeping keys (Id, SyncToken, sparse) are not fields. A sparse update names
only what it sets: a top-level field it leaves out is unchanged, not removed; inside a field it
sends (a list of lines, an address) whatever it leaves out is gone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

NOT_FIELDS = frozenset({"Id", "SyncToken", "sparse"})


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field: its value before and after (None: it was not there / it is gone)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class BodyDiff:
    """`created`: the first write of the document (nothing before to compare with)."""

    created: bool
    changes: tuple[FieldChange, ...] = ()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):  # amounts as sent: 150.00, never through a float
        return format(value, "f")
    return json.dumps(value)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Every leaf of a JSON value under its dotted path; an empty object or list is a leaf."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix] = _text(value)
    return out


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in NOT_FIELDS}


def diff_bodies(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> BodyDiff:
    """The fields `new` changes against `old`, in path order; `old` None: created."""
    if old is None:
        return BodyDiff(created=True)
    before_fields, after_fields = _fields(old), _fields(new)
    if new.get("sparse") is True:  # a sparse update leaves the fields it does not name alone
        before_fields = {k: v for k, v in before_fields.items() if k in after_fields}
    before, after = flatten(before_fields), flatten(after_fields)
    before.pop("", None)  # an empty body flattens to one empty-path leaf
    after.pop("", None)
    changes = [
        FieldChange(path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys(), key=_path_key)
        if before.get(path) != after.get(path)
    ]
    return BodyDiff(created=False, changes=tuple(changes))


def diff_texts(old: str | None, new: str) -> BodyDiff:
    """`diff_bodies` of two journaled JSON bodies."""
    before = json.loads(old, parse_float=Decimal) if old is not None else None
    return diff_bodies(before, json.loads(new, parse_float=Decimal))


def _path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Paths in a natural order: Line.2 before Line.10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in path.split("."))
