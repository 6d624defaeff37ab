"""Local stand-in for Intuit OAuth 2.0 and the QuickBooks Online Accounting API v3.

See README.md in this folder for behaviour choices where Intuit's documentation is silent.
"""

from .app import create_app

__all__ = ["create_app"]
