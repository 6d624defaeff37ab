"""What one run works with: its company and profiles, the client, the journal, the ids known
so far, the company's preferences (closing date), and what the run touched (for verify)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from ..client import QBOClient
from ..config import Settings
from ..errors import ConnectionProblem
from ..mapping import item_name, payment_method_name
from ..models import LIST_DOC_KINDS, Company, DocKind, SyncDocument, SyncProfile, SyncRun
from ..source import CRMSource
from .desired import Accounts, Ref
from .journal import Journal
from .names import name_key
from .writer import Writer

INCOME_DEFAULT = "Sales of Product Income"


def resolve_accounts(profile: SyncProfile, accounts: list[dict[str, Any]]) -> Accounts:
    """The profile's chosen accounts, or QuickBooks' usual ones until the user chooses."""
    active = [a for a in accounts if a.get("Active", True)]

    def first(pred: Callable[[dict[str, Any]], bool]) -> str | None:
        return next((str(a["Id"]) for a in active if pred(a)), None)

    ar = profile.ar_account_id or first(lambda a: a.get("AccountType") == "Accounts Receivable")
    income = (
        profile.income_account_id
        or first(lambda a: a.get("Name") == INCOME_DEFAULT and a.get("AccountType") == "Income")
        or first(lambda a: a.get("AccountType") == "Income")
    )
    deposit = profile.deposit_account_id or first(
        lambda a: (
            a.get("AccountSubType") == "UndepositedFunds" or a.get("Name") == "Undeposited Funds"
        )
    )
    if income is None:
        raise ConnectionProblem("The QuickBooks company has no active Income account.")
    return Accounts(ar_id=ar, income_id=income, deposit_id=deposit)


def close_date_of(preferences: dict[str, Any]) -> date | None:
    raw = (preferences.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        return None


@dataclass
class RunContext:
    session: Session
    settings: Settings
    source: CRMSource
    company: Company
    profiles: list[SyncProfile]
    run: SyncRun
    client: QBOClient
    journal: Journal
    writer: Writer
    accounts: dict[int, Accounts]
    close_date: date | None = None
    # QuickBooks Ids of documents known to exist: customers and lists for the whole run,
    # transactions for the chunk at hand.
    ids: dict[tuple[DocKind, str], str] = field(default_factory=dict)
    lists_read: bool = False
    existing_items: dict[str, dict[str, Any]] = field(default_factory=dict)  # casefold name
    existing_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: dict[tuple[DocKind, str], dict[str, Any]] = field(default_factory=dict)
    planned_sales: set[str] = field(default_factory=set)
    heartbeat: Callable[[], None] = lambda: None
    preview: bool = False

    def resolve(self, ref: Ref) -> str | None:
        return self.ids.get((ref.kind, ref.local_id))

    def resolve_name(self, kind: DocKind, name: str) -> str | None:
        """The Id of the item (by product name) or payment method (by name), if known."""
        if kind is DocKind.ITEM:
            return self.ids.get((kind, name_key(item_name(name))))
        return self.ids.get((kind, name_key(payment_method_name(name))))

    def remember(self, doc: SyncDocument) -> None:
        key = (doc.kind, doc.local_id)
        if doc.qbo_id and (doc.live or doc.kind in LIST_DOC_KINDS):
            self.ids[key] = doc.qbo_id
        else:
            self.ids.pop(key, None)

    def accounts_for(self, profile_id: int | None) -> Accounts:
        if profile_id in self.accounts:
            return self.accounts[profile_id]
        return next(iter(self.accounts.values()))

    def read_lists(self) -> None:
        """QuickBooks' items and payment methods by name, read once, only when one is missing."""
        if self.lists_read:
            return
        for item in self.client.query_all("Item", "Active IN (true, false)"):
            self.existing_items[str(item.get("Name", "")).casefold()] = item
        for method in self.client.query_all("PaymentMethod", "Active IN (true, false)"):
            self.existing_methods[str(method.get("Name", "")).casefold()] = method
        self.lists_read = True

    def progress(self, done: int) -> None:
        self.run.progress_done = (self.run.progress_done or 0) + done
        self.heartbeat()
