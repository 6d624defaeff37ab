"""The only code that speaks HTTP to QuickBooks Online: calls, faults, retries, shared budget."""

from .budget import Budget, Lease
from .client import BatchItem, BatchResult, QBOClient, sql_string
from .http import ClientStats, TokenSource, Transport

__all__ = [
    "BatchItem",
    "BatchResult",
    "Budget",
    "ClientStats",
    "Lease",
    "QBOClient",
    "TokenSource",
    "Transport",
    "sql_string",
]
