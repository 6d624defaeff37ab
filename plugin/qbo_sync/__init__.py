"""qbo_sync: one-way sync of a CRM's customers, sales and receipts into QuickBooks Online."""

from .errors import QBOSyncError
from .extension import QBOSync

__all__ = ["QBOSync", "QBOSyncError"]
