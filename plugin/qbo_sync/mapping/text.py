"""Cleaning of text for QuickBooks: forbidden characters out, lengths cut, every change noted."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
_SPACES = re.compile(r"\s+")
_COLON = re.compile(r"\s*:\s*")


def money(value: Decimal) -> Decimal:
    """A Decimal quantised to cents, half away from zero (never a float)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def clean(
    value: str | None,
    label: str,
    max_len: int,
    notes: list[str],
    *,
    forbid_colon: bool = False,
) -> str:
    """Return `value` fit for a QuickBooks field, appending one note per change to `notes`.

    Control characters (tab, newline, the rest of Unicode Cc/Cf and line separators) become a
    space; runs of spaces collapse to one; ends are trimmed. With `forbid_colon`, each ':' (with
    any spaces around it) becomes " - ", since QuickBooks reserves ':' for its name hierarchy.
    Finally the text is cut to `max_len` characters (trailing spaces of the cut dropped).
    Mere trimming of outer spaces is not noted.
    """
    if not value:
        return ""
    text = value
    # isprintable() is False for every Cc, Cf, Zl and Zp character: printable text skips the scan.
    if not text.isprintable() and any(_is_control(ch) for ch in text):
        text = "".join(" " if _is_control(ch) else ch for ch in text)
        notes.append(f"{label}: replaced tabs, line breaks or control characters with spaces")
    if forbid_colon and ":" in text:
        text = _COLON.sub(" - ", text)
        notes.append(f"{label}: replaced ':' with ' - ' (QuickBooks does not allow ':' in names)")
    text = _SPACES.sub(" ", text).strip()
    if len(text) > max_len:
        notes.append(f"{label}: cut from {len(text)} to {max_len} characters")
        text = text[:max_len].rstrip()
    return text


def clean_multiline(value: str | None, label: str, max_len: int, notes: list[str]) -> str:
    """Like `clean` but keeps line breaks (for descriptions), dropping other control characters."""
    if not value:
        return ""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sub_notes: list[str] = []
    kept = [clean(line, label, 10**9, sub_notes) for line in lines]
    notes.extend(dict.fromkeys(sub_notes))
    text = "\n".join(kept).strip("\n")
    if len(text) > max_len:
        notes.append(f"{label}: cut from {len(text)} to {max_len} characters")
        text = text[:max_len].rstrip()
    return text
