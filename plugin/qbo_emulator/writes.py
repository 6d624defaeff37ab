"""One entity write (create / update / delete / void), chosen like QBO from the query string."""

from __future__ import annotations

from typing import Any

from .entities import RULES, base
from .errors import ApiFault
from .repo import Doc, Repo


def includes(args: dict[str, str]) -> set[str]:
    """The comma-separated `include=` flags, lower-case."""
    return {v.strip().lower() for v in args.get("include", "").split(",") if v.strip()}


def options(args: dict[str, str]) -> base.Options:
    return base.Options(allow_duplicate_docnum="allowduplicatedocnum" in includes(args))


def entity_write(repo: Repo, kind: str, payload: Any, args: dict[str, str]) -> Doc:
    """`args` are the query-string arguments: `operation`, `include`."""
    rules = RULES[kind]
    operation = args.get("operation", "").lower()
    opts = options(args)
    if operation == "delete":
        return base.delete(repo, rules, payload)
    if operation == "void" or (operation == "update" and "void" in includes(args)):
        return base.void(repo, rules, payload)
    if operation == "update":
        return base.update(repo, rules, payload, opts, force_sparse=False)
    if operation not in ("", "create"):
        raise ApiFault("500", f"Unsupported Operation : Operation {operation} is not supported.")
    if operation == "" and isinstance(payload, dict) and payload.get("Id") not in (None, ""):
        return base.update(repo, rules, payload, opts, force_sparse=False)
    return base.create(repo, rules, payload, opts)
