"""The sync engine: desired state, recorded state, plan, apply with a journal, verify."""

from .run import execute_run, preview

__all__ = ["execute_run", "preview"]
