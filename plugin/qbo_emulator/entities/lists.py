"""Item, Account and PaymentMethod rules, plus CompanyInfo."""

from __future__ import annotations

from decimal import Decimal

from ..errors import ApiFault
from ..repo import Doc, Repo
from .base import Options, Rules
from .common import (
    as_bool,
    check_length,
    check_lengths,
    check_name_chars,
    enum,
    money,
    norm_name,
    required,
    resolve,
)

ITEM_TYPES = ("Service", "NonInventory", "Inventory", "Category", "Group")
ACCOUNT_TYPES = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Income": "Revenue",
    "Other Expense": "Expense",
    "Non-Posting": "Asset",
}


def check_unique(repo: Repo, kind: str, doc: Doc, field: str) -> None:
    wanted = norm_name(str(doc[field]))
    for other in repo.all(kind, see_all=True):
        if other["Id"] != doc.get("Id") and norm_name(str(other.get(field, ""))) == wanted:
            raise ApiFault(
                "6240",
                f"The name supplied already exists. : Another {kind.lower()} is already using "
                f"this name. Please use a different name. Id={other['Id']}",
                field,
            )


class NamedListRules(Rules):
    """A list entity identified by a unique Name."""

    name_limit = 100

    def named(self, repo: Repo, doc: Doc) -> str:
        name = str(required(doc, "Name")).strip()
        doc["Name"] = name
        check_length(name, self.name_limit, "Name")
        check_name_chars(name, "Name")
        check_unique(repo, self.kind, doc, "Name")
        doc["Active"] = as_bool(doc.get("Active"), True)
        return name


class ItemRules(NamedListRules):
    kind = "Item"
    read_only = ("FullyQualifiedName", "Level")

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        name = self.named(repo, doc)
        doc["FullyQualifiedName"] = name
        item_type = enum(required(doc, "Type"), ITEM_TYPES, "Type")
        check_lengths(doc, {"Description": 4000, "PurchaseDesc": 4000, "Sku": 100})
        if item_type in ("Service", "NonInventory", "Inventory"):
            _, doc["IncomeAccountRef"] = resolve(
                repo, "Account", required(doc, "IncomeAccountRef"), "IncomeAccountRef"
            )
        for field in ("ExpenseAccountRef", "AssetAccountRef"):
            if doc.get(field):
                _, doc[field] = resolve(repo, "Account", doc[field], field)
        track = as_bool(doc.get("TrackQtyOnHand"), False)
        if old is not None and old.get("TrackQtyOnHand") is True and not track:
            raise ApiFault("6000", "TrackQtyOnHand cannot be turned off", "TrackQtyOnHand")
        if item_type == "Inventory":
            for field in ("AssetAccountRef", "QtyOnHand", "InvStartDate", "ExpenseAccountRef"):
                required(doc, field)
            if not track:
                raise ApiFault("6000", "Inventory items must track quantity", "TrackQtyOnHand")
        doc["TrackQtyOnHand"] = track
        doc["Taxable"] = as_bool(doc.get("Taxable"), False)
        doc["UnitPrice"] = money(doc.get("UnitPrice"), "UnitPrice", Decimal(0))
        return doc


class AccountRules(NamedListRules):
    kind = "Account"
    read_only = ("FullyQualifiedName", "CurrentBalance", "CurrentBalanceWithSubAccounts")

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        name = self.named(repo, doc)
        acct_type = enum(required(doc, "AccountType"), tuple(ACCOUNT_TYPES), "AccountType")
        check_lengths(doc, {"Description": 100, "AcctNum": 20})
        doc["FullyQualifiedName"] = name
        doc["Classification"] = ACCOUNT_TYPES[acct_type]
        doc["SubAccount"] = False
        doc["CurrentBalance"] = old.get("CurrentBalance", 0) if old else Decimal(0)
        doc["CurrentBalanceWithSubAccounts"] = doc["CurrentBalance"]
        doc["CurrencyRef"] = {"value": "USD", "name": "United States Dollar"}
        return doc


class PaymentMethodRules(NamedListRules):
    kind = "PaymentMethod"
    name_limit = 31

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        self.named(repo, doc)
        doc["Type"] = enum(
            doc.get("Type", "NON_CREDIT_CARD"), ("CREDIT_CARD", "NON_CREDIT_CARD"), "Type"
        )
        return doc


class CompanyInfoRules(Rules):
    kind = "CompanyInfo"
    creatable = False
    read_only = ("CompanyStartDate", "Country", "SupportedLanguages")

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        required(doc, "CompanyName")
        check_lengths(doc, {"CompanyName": 1024, "LegalName": 1024})
        return doc
