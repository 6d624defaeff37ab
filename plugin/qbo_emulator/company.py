"""Per-company settings kept in SQLite: automated sales tax and its rate, the closing date."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_AST_RATE = Decimal("8.25")


class SettingsError(ValueError):
    """A setting sent to the control API has the wrong type or value."""


@dataclass(frozen=True)
class CompanySettings:
    automated_sales_tax: bool = False
    book_close_date: date | None = None
    ast_rate: Decimal = DEFAULT_AST_RATE

    def as_json(self, realm_id: str) -> dict[str, Any]:
        return {
            "realmId": realm_id,
            "automated_sales_tax": self.automated_sales_tax,
            "book_close_date": self.book_close_date.isoformat() if self.book_close_date else None,
            "ast_rate": str(self.ast_rate),
        }

    def changed(self, body: dict[str, Any]) -> CompanySettings:
        """These settings with the keys present in `body` applied (null clears the date)."""
        ast, close, rate = self.automated_sales_tax, self.book_close_date, self.ast_rate
        if body.get("automated_sales_tax") is not None:
            if not isinstance(body["automated_sales_tax"], bool):
                raise SettingsError("automated_sales_tax must be true or false")
            ast = body["automated_sales_tax"]
        if "book_close_date" in body:
            close = parse_date(body["book_close_date"]) if body["book_close_date"] else None
        if body.get("ast_rate") is not None:
            rate = parse_rate(body["ast_rate"])
        return CompanySettings(ast, close, rate)


def parse_date(value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SettingsError(f"book_close_date must be YYYY-MM-DD, not {value!r}") from exc


def parse_rate(value: object) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise SettingsError(f"ast_rate must be a percentage such as '8.25', not {value!r}") from exc
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise SettingsError(f"ast_rate must be between 0 and 100, not {value!r}")
    return rate


def load(conn: sqlite3.Connection, realm_id: str) -> CompanySettings:
    """One primary-key lookup; a company never configured has the defaults."""
    row = conn.execute(
        "SELECT automated_sales_tax, book_close_date, ast_rate FROM company_settings "
        "WHERE realm_id=?",
        (realm_id,),
    ).fetchone()
    if row is None:
        return CompanySettings()
    close = date.fromisoformat(row[1]) if row[1] else None
    return CompanySettings(bool(row[0]), close, Decimal(row[2]))


def save(conn: sqlite3.Connection, realm_id: str, settings: CompanySettings) -> None:
    close = settings.book_close_date.isoformat() if settings.book_close_date else None
    conn.execute(
        "INSERT INTO company_settings (realm_id, automated_sales_tax, book_close_date, ast_rate) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (realm_id) DO UPDATE SET "
        "automated_sales_tax=excluded.automated_sales_tax, "
        "book_close_date=excluded.book_close_date, ast_rate=excluded.ast_rate",
        (realm_id, int(settings.automated_sales_tax), close, str(settings.ast_rate)),
    )
