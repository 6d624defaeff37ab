"""Top-level properties a query may filter or sort on, per entity (others are a 400)."""

from __future__ import annotations

COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
NAMES = {
    "DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
    "PrintOnCheckName", "FullyQualifiedName", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax",
    "PrimaryEmailAddr", "WebAddr", "BillAddr", "ShipAddr", "PrimaryAddr", "Notes", "Active",
    "Balance", "BalanceWithJobs", "Taxable", "CurrencyRef", "ParentRef", "Job", "BillWithParent",
    "Level", "SalesTermRef", "PaymentMethodRef", "PreferredDeliveryMethod", "OpenBalanceDate",
    "ResaleNum", "IsProject", "Vendor1099", "AcctNum", "EmployeeNumber", "BillableTime",
    "HiredDate", "ReleasedDate", "TaxIdentifier", "DefaultTaxCodeRef",
}  # fmt: skip
SALES = {
    "DocNumber", "TxnDate", "DueDate", "CustomerRef", "TotalAmt", "Balance", "RemainingCredit",
    "Line", "LinkedTxn", "PrivateNote", "CustomerMemo", "BillEmail", "BillAddr", "ShipAddr",
    "EmailStatus", "PrintStatus", "CurrencyRef", "DepartmentRef", "ClassRef", "SalesTermRef",
    "ShipDate", "TrackingNum", "Deposit", "HomeTotalAmt", "HomeBalance", "TxnTaxDetail",
    "ApplyTaxAfterDiscount", "GlobalTaxCalculation", "ExchangeRate", "PONumber",
}  # fmt: skip
FIELDS: dict[str, set[str]] = {
    "Customer": NAMES,
    "Vendor": NAMES,
    "Employee": NAMES,
    "Item": {
        "Name",
        "Sku",
        "Type",
        "Description",
        "UnitPrice",
        "Active",
        "FullyQualifiedName",
        "Taxable",
        "IncomeAccountRef",
        "ExpenseAccountRef",
        "AssetAccountRef",
        "TrackQtyOnHand",
        "QtyOnHand",
        "InvStartDate",
        "PurchaseDesc",
        "PurchaseCost",
        "Level",
        "ParentRef",
        "SubItem",
        "SalesTaxCodeRef",
    },  # fmt: skip
    "Account": {
        "Name",
        "AccountType",
        "AccountSubType",
        "Classification",
        "Active",
        "FullyQualifiedName",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "AcctNum",
        "Description",
        "SubAccount",
        "ParentRef",
        "CurrencyRef",
    },  # fmt: skip
    "PaymentMethod": {"Name", "Type", "Active"},
    "Invoice": SALES,
    "CreditMemo": SALES,
    "Payment": {
        "CustomerRef",
        "TotalAmt",
        "UnappliedAmt",
        "TxnDate",
        "PaymentRefNum",
        "PaymentMethodRef",
        "DepositToAccountRef",
        "Line",
        "PrivateNote",
        "ARAccountRef",
        "CurrencyRef",
        "ProcessPayment",
        "ExchangeRate",
    },  # fmt: skip
}


def is_queryable(entity: str, path: str, seen: set[str]) -> bool:
    """A property is known if listed above or present on any stored object of the entity."""
    head = path.split(".", 1)[0]
    known = FIELDS.get(entity)
    return known is None or head in COMMON or head in known or head in seen
