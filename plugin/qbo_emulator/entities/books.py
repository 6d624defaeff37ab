"""The books' closing date: a transaction dated on or before it cannot be written (6210)."""

from __future__ import annotations

from datetime import date

from ..company import load
from ..errors import ApiFault
from ..repo import Doc, Repo

CLOSED_MESSAGE = "Account Period Closed, Cannot Update Through Services API"
CLOSED_DETAIL = (
    "The account period has closed and the account books cannot be updated through the QBO "
    "Services API. Please use the QBO website to make these changes."
)


def txn_date(doc: Doc) -> date:
    text = str(doc.get("TxnDate") or "")
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ApiFault("2010", f"Invalid date for TxnDate: {text!r}", "TxnDate") from exc


def check_open(repo: Repo, doc: Doc) -> None:
    """Refuse the write when `doc` (the stored or the new version) is in a closed period."""
    close = load(repo.conn, repo.realm_id).book_close_date
    if close is not None and txn_date(doc) <= close:
        raise ApiFault("6210", CLOSED_DETAIL, message=CLOSED_MESSAGE)
