"""A company's lists kept in the database: its chart of accounts, items and payment methods as
last read from QuickBooks. They are read when the company is connected and when the office asks
(the page's "Refresh lists"), never on a view of the page, which shows what is kept.

Only the fields the page uses are kept. Runs read what they need from QuickBooks themselves;
these lists are for choosing accounts and for showing what the company holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .client import QBOClient
from .models import Company, CompanyList, ListKind, utcnow

KEPT_FIELDS = (
    "Id",
    "Name",
    "FullyQualifiedName",
    "AccountType",
    "AccountSubType",
    "Type",
    "Active",
)


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in KEPT_FIELDS if k in row}


def kept(session: Session, company: Company) -> dict[ListKind, CompanyList]:
    """The company's lists as kept (none of them until first read)."""
    rows = session.scalars(sa.select(CompanyList).where(CompanyList.company_id == company.id))
    return {row.kind: row for row in rows}


def read_lists(
    session: Session, company: Company, client: QBOClient
) -> dict[ListKind, CompanyList]:
    """Read the active accounts, items and payment methods from QuickBooks and keep them
    (committed); one query each (per 1,000 entries)."""
    found = kept(session, company)
    now = utcnow()
    for kind in ListKind:
        entries = [_entry(row) for row in client.query_all(kind.value)]
        row = found.get(kind)
        if row is None:
            row = found[kind] = CompanyList(company_id=company.id, kind=kind, entries=entries)
            session.add(row)
        row.entries, row.read_at = entries, now
    session.commit()
    return found


def chart(
    session: Session, company: Company, client: Callable[[], QBOClient]
) -> list[dict[str, Any]]:
    """The kept chart of accounts; read (with the other lists) only if it never was."""
    row = kept(session, company).get(ListKind.ACCOUNTS)
    if row is None:
        row = read_lists(session, company, client())[ListKind.ACCOUNTS]
    return list(row.entries)


def forget(session: Session, company: Company) -> None:
    """Drop the kept lists (the company was disconnected; the caller commits)."""
    session.execute(sa.delete(CompanyList).where(CompanyList.company_id == company.id))
