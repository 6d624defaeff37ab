"""What one run works with: the profile, its client, and per-run caches of QuickBooks lists.

Accounts, items and payment methods are read once per run (a query per 1000), never per record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..client import QBOClient
from ..config import Settings
from ..errors import ConnectionProblem
from ..models import SyncProfile, SyncRun
from ..source import CRMSource
from .records import RecordBook
from .writer import Writer

INCOME_DEFAULT = "Sales of Product Income"


def name_key(name: str) -> str:
    """A stable local id for a QuickBooks list entry known by name (item, payment method)."""
    return hashlib.sha256(name.casefold().encode("utf-8")).hexdigest()[:40]


@dataclass
class Accounts:
    ar_id: str | None
    income_id: str
    deposit_id: str | None


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


@dataclass
class RunContext:
    session: Session
    settings: Settings
    source: CRMSource
    profile: SyncProfile
    run: SyncRun
    client: QBOClient
    book: RecordBook
    writer: Writer
    accounts: Accounts
    items: dict[str, str] = field(default_factory=dict)  # item name (casefold) -> Id
    payment_methods: dict[str, str] = field(default_factory=dict)  # name (casefold) -> Id
    heartbeat: Callable[[], None] = lambda: None

    def load_lists(self) -> None:
        for item in self.client.query_all("Item"):
            if item.get("Active", True):
                self.items[str(item["Name"]).casefold()] = str(item["Id"])
        for pm in self.client.query_all("PaymentMethod"):
            if pm.get("Active", True):
                self.payment_methods[str(pm["Name"]).casefold()] = str(pm["Id"])

    def commit(self) -> None:
        """Commit what the chunk changed; with nothing changed, keep the loaded state as it is."""
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.commit()

    def progress(self, done: int) -> None:
        self.run.progress_done += done
        self.heartbeat()
