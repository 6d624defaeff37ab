"""Preferences: the full default set, read-only fields, updates, and the company settings mirror."""

from __future__ import annotations

import copy

from ..company import CompanySettings, load
from ..repo import Doc, Repo
from .base import Options, Rules
from .common import SERVER_FIELDS

# Read-only per Intuit's Preferences reference: an update keeps the stored value (or the company
# setting) whatever the request says.
READ_ONLY: tuple[tuple[str, str | None], ...] = (
    ("AccountingInfoPrefs", "BookCloseDate"),
    ("AccountingInfoPrefs", "FirstMonthOfFiscalYear"),
    ("AccountingInfoPrefs", "TaxYearMonth"),
    ("AccountingInfoPrefs", "UseAccountNumbers"),
    ("AccountingInfoPrefs", "TaxForm"),
    ("ReportPrefs", "CalcAgingReportFromTxnDate"),
    ("SalesFormsPrefs", "AutoApplyCredit"),
    ("SalesFormsPrefs", "CustomField"),
    ("SalesFormsPrefs", "ETransactionEnabledStatus"),
    ("SalesFormsPrefs", "IPNSupportEnabled"),
    ("SalesFormsPrefs", "UsingPriceLevels"),
    ("SalesFormsPrefs", "UsingProgressInvoicing"),
    ("TimeTrackingPrefs", "WorkWeekStartDate"),
    ("TimeTrackingPrefs", "MarkTimeEntriesBillable"),
    ("TaxPrefs", None),
    ("CurrencyPrefs", None),
)
DEFAULT_MESSAGE = "Thank you for your business and have a great day!"


def _custom_fields(prefix: str, use: str, name: str) -> list[Doc]:
    flags = [
        {"BooleanValue": False, "Type": "BooleanType", "Name": f"{prefix}.{use}{n}"}
        for n in (3, 2, 1)
    ]
    names = [{"StringValue": "", "Type": "StringType", "Name": f"{prefix}.{name}1"}]
    return [{"CustomField": flags}, {"CustomField": names}]


def _email(kind: str, company: str, body: str) -> Doc:
    return {
        "Subject": f"{kind} from {company}",
        "Message": f"{body}\n\nThank you for your business - we appreciate it very much.\n\n"
        f"Sincerely,\n{company}",
    }


def default_preferences(company: str) -> Doc:
    """Every section Intuit returns for a US company on QuickBooks Online Plus."""
    pay_soon = "Please remit payment at your earliest convenience."
    return {
        "AccountingInfoPrefs": {
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": False,
            "TaxYearMonth": "January",
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "TrackDepartments": False,
            "TaxForm": "6",
            "CustomerTerminology": "Customers",
            "DepartmentTerminology": "Location",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": True,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowEstimates": True,
            "AllowServiceDate": False,
            "AllowShipping": False,
            "AutoApplyCredit": False,
            "AutoApplyPayments": False,
            "DefaultTerms": {"value": "3"},
            "DefaultDiscountAccount": "11",
            "DefaultCustomerMessage": DEFAULT_MESSAGE,
            "EmailCopyToCompany": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionPaymentEnabled": False,
            "ETransactionAttachPDF": False,
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
            "CustomField": _custom_fields("SalesFormsPrefs", "UseSalesCustom", "SalesCustomName"),
        },
        "EmailMessagesPrefs": {
            "InvoiceMessage": _email("Invoice", company, f"Your invoice is attached. {pay_soon}"),
            "EstimateMessage": _email(
                "Estimate", company, "Please review the estimate below. We look forward to it."
            ),
            "SalesReceiptMessage": _email(
                "Sales Receipt", company, "Your sales receipt is attached."
            ),
            "StatementMessage": _email(
                "Statement", company, f"Your statement is attached. {pay_soon}"
            ),
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "TPAREnabled": False,
            "POCustomField": _custom_fields(
                "PurchasePrefs", "UsePurchaseCustom", "PurchaseCustomName"
            ),
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {"UsingSalesTax": False, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": n, "Value": v} for n, v in OTHER_PREFS]},
    }


OTHER_PREFS: tuple[tuple[str, str], ...] = (
    ("SalesFormsPrefs.DefaultCustomerMessage", DEFAULT_MESSAGE),
    ("SalesFormsPrefs.DefaultItem", "1"),
    ("DTXCopyMemo", "false"),
    ("SFCEnabled", "true"),
    ("DataPartner", "false"),
    ("Vendor1099Enabled", "true"),
    ("TimeTrackingFeatureEnabled", "true"),
    ("FDPEnabled", "false"),
    ("ProjectsEnabled", "false"),
    ("DateFormat", "Month Date Year separated by a slash"),
    ("DateFormatMnemonic", "MMDDYYYY_SEP_SLASH"),
    ("NumberFormat", "US Number Format"),
    ("NumberFormatMnemonic", "US_NB"),
    ("WarnDuplicateCheckNumber", "true"),
    ("WarnDuplicateBillNumber", "false"),
    ("SignoutInactiveMinutes", "60"),
    ("AccountingInfoPrefs.ShowAccountNumbers", "false"),
)


def deep_merge(base: Doc, changes: Doc, known_only: bool = False) -> Doc:
    """`base` with `changes` laid over it; objects merge key by key, lists are replaced.

    With `known_only`, keys that `base` lacks are dropped (Preferences has a fixed schema;
    python-quickbooks sends attributes of its own, such as `RevenueRecognition`).
    """
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if known_only and key not in out:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value, known_only)
        else:
            out[key] = copy.deepcopy(value)
    return out


def fill_defaults(doc: Doc, company: str) -> bool:
    """Add sections and fields missing from a stored Preferences (older databases)."""
    defaults = default_preferences(company)
    full = deep_merge(defaults, doc)
    if not full["OtherPrefs"].get("NameValue"):
        full["OtherPrefs"]["NameValue"] = defaults["OtherPrefs"]["NameValue"]
    if full == doc:
        return False
    doc.clear()
    doc.update(full)
    return True


def mirror(doc: Doc, settings: CompanySettings) -> Doc:
    """Show the company settings: BookCloseDate, TaxPrefs.PartnerTaxEnabled and UsingSalesTax."""
    accounting = doc.setdefault("AccountingInfoPrefs", {})
    if settings.book_close_date is None:
        accounting.pop("BookCloseDate", None)
    else:
        accounting["BookCloseDate"] = settings.book_close_date.isoformat()
    tax = doc.setdefault("TaxPrefs", {})
    tax["PartnerTaxEnabled"] = settings.automated_sales_tax
    tax["UsingSalesTax"] = settings.automated_sales_tax
    return doc


class PreferencesRules(Rules):
    """One object per company; an update merges the known fields it names, keeps read-only ones."""

    kind = "Preferences"
    creatable = False

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        assert old is not None
        sent = {k: v for k, v in opts.sent.items() if k not in SERVER_FIELDS}
        merged = deep_merge(old, sent, known_only=True)
        for section, field in READ_ONLY:
            if field is None:
                merged[section] = copy.deepcopy(old.get(section, {}))
            elif field in old.get(section, {}):
                merged.setdefault(section, {})[field] = copy.deepcopy(old[section][field])
            else:
                merged.get(section, {}).pop(field, None)
        return mirror(merged, load(repo.conn, repo.realm_id))


def custom_txn_numbers(repo: Repo) -> bool:
    prefs = repo.get("Preferences", "1") or {}
    forms = prefs.get("SalesFormsPrefs") or {}
    return bool(forms.get("CustomTxnNumbers", True))
