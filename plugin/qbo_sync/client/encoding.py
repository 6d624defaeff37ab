"""JSON for QuickBooks: Decimals go out as exact JSON numbers and come back as Decimals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send {value} to QuickBooks")
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def dumps(value: Any) -> str:
    """Compact JSON; Decimal("150.00") becomes 150.00 exactly (never through a float)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(_encode_str(value))
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, date):
        return str(_encode_str(value.isoformat()))
    if isinstance(value, dict):
        return "{" + ",".join(f"{_encode_str(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot encode a {type(value).__name__} as JSON")


def loads(text: str | bytes) -> Any:
    """Parse a QuickBooks reply; numbers with a fraction become Decimals."""
    return json.loads(text, parse_float=Decimal)
