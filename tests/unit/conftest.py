"""Golden-file comparison for the pure mapping functions (compared whole, numbers exactly)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from qbo_sync.client import encoding

GOLDEN = Path(__file__).parent / "golden"
_MARK = re.compile(r'"\u00a7([^\u00a7"]*)\u00a7"')


def _marked(value: Any) -> Any:
    if isinstance(value, Decimal):
        return "\u00a7" + encoding.dumps(value) + "\u00a7"
    if isinstance(value, dict):
        return {k: _marked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(v) for v in value]
    return value


def pretty(value: Any) -> str:
    """Indented JSON with Decimals written exactly as the client sends them (150.00, not 150.0)."""
    text = json.dumps(_marked(value), indent=2, ensure_ascii=False)
    return _MARK.sub(lambda m: m.group(1), text) + "\n"


def exact(text: str) -> Any:
    """Parse JSON keeping each number's exact spelling (floats as their text)."""
    return json.loads(text, parse_float=lambda s: ("number", s))


@pytest.fixture
def golden() -> Callable[[str, Any], None]:
    """`golden(name, value)`: value must equal tests/unit/golden/<name>.json, whole.

    With QBO_SYNC_UPDATE_GOLDEN=1 the file is (re)written instead; check it by hand.
    """

    def check(name: str, value: Any) -> None:
        path = GOLDEN / f"{name}.json"
        actual = pretty(value)
        if os.environ.get("QBO_SYNC_UPDATE_GOLDEN") == "1":
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}"
        expected = path.read_text(encoding="utf-8")
        assert exact(actual) == exact(expected), f"{name}: output differs from {path}"
        # The wire text must also be the same document (Decimals as exact JSON numbers).
        assert exact(encoding.dumps(value)) == exact(expected)

    return check
