"""The uniqueness key each stored entity carries, so QuickBooks' uniqueness rules are one
indexed lookup instead of a scan of the company: a customer, vendor or employee's display name
(one space shared by the three), an item, account or payment method's name (per kind), an
invoice or credit memo's number (per kind)."""

from __future__ import annotations

from typing import Any

PEOPLE = ("Customer", "Vendor", "Employee")
NAMED = ("Item", "Account", "PaymentMethod")
NUMBERED = ("Invoice", "CreditMemo")


def norm_name(value: str) -> str:
    """Names compare with runs of white space as one space, case folded."""
    return " ".join(value.split()).casefold()


def person_key(name: str) -> str:
    return "person:" + norm_name(name)


def name_key(kind: str, name: str) -> str:
    return f"{kind}:" + norm_name(name)


def number_key(kind: str, number: str) -> str:
    return f"{kind}#" + number.casefold()


def unique_key(kind: str, doc: dict[str, Any]) -> str | None:
    if kind in PEOPLE and "DisplayName" in doc:
        return person_key(str(doc["DisplayName"]))
    if kind in NAMED:
        return name_key(kind, str(doc.get("Name", "")))
    if kind in NUMBERED and doc.get("DocNumber"):
        return number_key(kind, str(doc["DocNumber"]))
    return None
