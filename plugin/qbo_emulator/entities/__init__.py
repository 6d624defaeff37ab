"""Entity rules by QBO entity name, and the URL segment each one answers to."""

from __future__ import annotations

from .base import Rules
from .lists import AccountRules, CompanyInfoRules, ItemRules, PaymentMethodRules
from .names import NameRules
from .payments import PaymentRules
from .preferences import PreferencesRules
from .sales import SalesRules

RULES: dict[str, Rules] = {
    "Customer": NameRules("Customer"),
    "Vendor": NameRules("Vendor"),
    "Employee": NameRules("Employee"),
    "Item": ItemRules(),
    "Account": AccountRules(),
    "PaymentMethod": PaymentMethodRules(),
    "Invoice": SalesRules("Invoice", "Balance", voidable=True),
    "CreditMemo": SalesRules("CreditMemo", "RemainingCredit", voidable=False),
    "Payment": PaymentRules(),
    "Preferences": PreferencesRules(),
    "CompanyInfo": CompanyInfoRules(),
}
BY_SEGMENT: dict[str, str] = {name.lower(): name for name in RULES}
NAME_LISTS = ("Customer", "Vendor", "Employee", "Item", "Account", "PaymentMethod")
