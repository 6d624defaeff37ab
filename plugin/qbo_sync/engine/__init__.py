"""The sync engine: plan what is in scope, push it phase by phase, record every outcome."""

from .run import execute_run

__all__ = ["execute_run"]
