"""Sales tax of an Invoice or CreditMemo: Automated Sales Tax (US) or the TotalTax as sent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ..company import CompanySettings
from ..repo import Doc
from .common import CENT, money


def explicit_total_tax(sent: Doc) -> bool:
    """Whether the request itself carries `TxnTaxDetail.TotalTax` (0 included)."""
    detail = sent.get("TxnTaxDetail")
    return isinstance(detail, dict) and detail.get("TotalTax") not in (None, "")


def ast_tax(settings: CompanySettings, taxable: Decimal) -> Decimal:
    """cents(taxable × rate / 100), half a cent rounded up."""
    return (taxable * settings.ast_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def total_tax(settings: CompanySettings, doc: Doc, taxable: Decimal, sent: Doc) -> Decimal:
    """The tax added to TotalAmt; under AST it is computed unless the request pins it."""
    detail = doc.get("TxnTaxDetail")
    detail = dict(detail) if isinstance(detail, dict) else {}
    if settings.automated_sales_tax and not explicit_total_tax(sent):
        detail["TotalTax"] = ast_tax(settings, taxable)
        doc["TxnTaxDetail"] = detail
    return money(detail.get("TotalTax"), "TxnTaxDetail.TotalTax", Decimal(0))
