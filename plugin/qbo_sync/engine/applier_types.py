"""Small shared types of the engine."""

from __future__ import annotations

Counts = dict[str, int]
