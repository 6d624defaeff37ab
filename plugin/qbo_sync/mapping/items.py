"""CRM product -> QuickBooks Item (Service) JSON, found by its cleaned name."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .text import clean

ITEM_NAME_MAX = 100
PAYMENT_METHOD_NAME_MAX = 31
# The Service item carrying adjustments that raise a sale's balance, and credit-memo lines.
ADJUSTMENT_ITEM_NAME = "CRM Adjustment"


@lru_cache(maxsize=4096)
def item_name(product_name: str) -> str:
    """The Item Name for a product: no ':' tab or newline, at most 100 characters.

    The engine looks items up by this name, so equal product names share one Item.
    """
    notes: list[str] = []
    return clean(product_name, "item name", ITEM_NAME_MAX, notes, forbid_colon=True) or "Item"


def to_qbo_item(name: str, income_account_id: str) -> dict[str, Any]:
    """A Service Item named after the product, booked to the profile's income account."""
    return {
        "Name": item_name(name),
        "Type": "Service",
        "IncomeAccountRef": {"value": str(income_account_id)},
    }


@lru_cache(maxsize=256)
def payment_method_name(name: str) -> str:
    """The PaymentMethod Name for a CRM payment method: cleaned like a name (no ':' tab or
    newline), at most 31 characters; "" when nothing is left (no method is sent then)."""
    notes: list[str] = []
    return clean(name, "payment method", PAYMENT_METHOD_NAME_MAX, notes, forbid_colon=True)
