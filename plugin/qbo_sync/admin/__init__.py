"""The "QuickBooks Online Sync" admin page."""
