"""Customer, Vendor and Employee: DisplayName rules shared across the three name lists."""

from __future__ import annotations

from decimal import Decimal

from ..errors import ApiFault
from ..repo import Doc, Repo
from .base import Options, Rules
from .common import (
    NAME_KINDS,
    as_bool,
    check_email,
    check_length,
    check_lengths,
    check_name_chars,
    money,
    norm_name,
    resolve,
)

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
LIMITS = {
    "DisplayName": 500,
    "Title": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Suffix": 16,
    "CompanyName": 50,
    "PrintOnCheckName": 110,
    "Notes": 2000,
    "PrimaryPhone.FreeFormNumber": 30,
    "AlternatePhone.FreeFormNumber": 30,
    "Mobile.FreeFormNumber": 30,
    "Fax.FreeFormNumber": 30,
    "WebAddr.URI": 1000,
}
ADDRESS_LIMITS = {
    "Line1": 500,
    "Line2": 500,
    "Line3": 500,
    "Line4": 500,
    "Line5": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
}
DUPLICATE_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already "
    "using this name. Please use a different name."
)


def check_unique_name(repo: Repo, kind: str, doc: Doc, name: str) -> None:
    """6240 when any customer, vendor or employee (inactive too) uses the name."""
    for other_kind, other_id in repo.holders(NAME_KINDS, norm_name(name)):
        if other_kind == kind and other_id == str(doc.get("Id")):
            continue
        raise ApiFault("6240", f"{DUPLICATE_DETAIL} Id={other_id}", "DisplayName")


def assign_address_ids(repo: Repo, doc: Doc, fields: tuple[str, ...]) -> None:
    for field in fields:
        addr = doc.get(field)
        if not isinstance(addr, dict):
            continue
        for key, limit in ADDRESS_LIMITS.items():
            check_length(addr.get(key), limit, f"{field}.{key}")
        addr.pop("Lat", None)
        addr.pop("Long", None)
        if not addr:
            doc.pop(field)
        elif "Id" not in addr:
            addr["Id"] = str(repo.next_value("address"))


class NameRules(Rules):
    read_only = ("FullyQualifiedName", "Balance", "BalanceWithJobs", "Level")
    keep_on_sparse_blank = ("DisplayName",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        name = str(doc.get("DisplayName") or "").strip()
        if not name:
            parts = [str(doc[p]).strip() for p in NAME_PARTS if doc.get(p)]
            name = " ".join(p for p in parts if p)
        if not name:
            raise ApiFault(
                "2020", "Required parameter DisplayName is missing in the request", "DisplayName"
            )
        doc["DisplayName"] = name
        check_lengths(doc, LIMITS)
        check_name_chars(name, "DisplayName")
        check_email(doc)
        check_unique_name(repo, self.kind, doc, name)
        doc["Active"] = as_bool(doc.get("Active"), True)
        doc["PrintOnCheckName"] = str(doc.get("PrintOnCheckName") or name)[:110]
        assign_address_ids(repo, doc, ("BillAddr", "ShipAddr", "PrimaryAddr"))
        if self.kind == "Customer":
            self._customer(repo, doc, old)
        elif self.kind == "Vendor":
            doc["Balance"] = old.get("Balance", 0) if old else Decimal(0)
        return doc

    def _customer(self, repo: Repo, doc: Doc, old: Doc | None) -> None:
        balance = money(old.get("Balance"), "Balance") if old else Decimal("0.00")
        doc["FullyQualifiedName"] = doc["DisplayName"]
        doc["Balance"] = balance
        doc["BalanceWithJobs"] = balance
        doc["Taxable"] = as_bool(doc.get("Taxable"), False)
        doc["Job"] = as_bool(doc.get("Job"), False)
        doc["BillWithParent"] = as_bool(doc.get("BillWithParent"), False)
        doc["IsProject"] = as_bool(doc.get("IsProject"), False)
        doc.setdefault("PreferredDeliveryMethod", "Print")
        doc["CurrencyRef"] = {"value": "USD", "name": "United States Dollar"}
        if doc.get("PaymentMethodRef"):
            _, doc["PaymentMethodRef"] = resolve(
                repo, "PaymentMethod", doc["PaymentMethodRef"], "PaymentMethodRef"
            )
        if doc.get("ParentRef"):
            raise ApiFault("6000", "Sub-customers (ParentRef) are not supported by the emulator")
        if not doc["Active"] and balance != 0 and (old is None or old.get("Active") is not False):
            raise ApiFault(
                "6000",
                "Delete List Has Balance Error : The customer has a non-zero balance and "
                f"cannot be made inactive. Balance={balance}",
                "Active",
            )
