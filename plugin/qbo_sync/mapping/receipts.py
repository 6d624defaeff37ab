"""CRM receipts and adjustments -> QuickBooks Payment, CreditMemo and invoice lines.

Mapping of adjustments (a ReceiptRecord with kind "adjustment"; its amount is what it takes off
the sale's balance):

* Positive amount (REDUCES the balance): a CreditMemo for the amount (one line on the adjustment
  item, non-taxable), then a zero-amount Payment with two lines, one linking the Invoice and one
  the CreditMemo, each for the amount. That is how QuickBooks applies a credit to an invoice
  (qbo-api-notes §2.7): the invoice's Balance drops by exactly the amount.
* Negative amount (INCREASES the balance): one extra line on the sale's own Invoice, on the
  adjustment item, Qty 1, UnitPrice and Amount = the increase (see `to_qbo_adjustment_line`).
  The invoice's TotalAmt and Balance rise by exactly the increase and the charge stays on the
  document the customer is billed by; the engine sends it as a (full-line) update of the
  invoice, so removing the adjustment later removes the line again.
* Zero: no entry at all.

Receipts (kind "receipt") become a Payment linked to the sale's invoice; amounts must be > 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from ..errors import MappingError
from ..source import ReceiptRecord
from .text import clean, money

REF_NUM_MAX = 21
NON_TAXABLE = {"value": "NON"}

Effect = Literal["reduce", "increase", "none"]


def adjustment_effect(adjustment: ReceiptRecord) -> Effect:
    """Whether an adjustment reduces (credit memo) or increases (invoice line) the balance."""
    amount = money(adjustment.amount)
    if amount > 0:
        return "reduce"
    if amount < 0:
        return "increase"
    return "none"


def _ref_num(record: ReceiptRecord) -> str:
    scratch: list[str] = []
    return clean(record.number, "number", REF_NUM_MAX, scratch)


def _label(record: ReceiptRecord) -> str:
    scratch: list[str] = []
    return "Adjustment " + clean(record.number, "number", 200, scratch)


def to_qbo_payment(
    receipt: ReceiptRecord,
    customer_qbo_id: Any,
    invoice_qbo_id: Any,
    payment_method_id: Any | None,
    deposit_account_id: str | None,
    *,
    applied: Decimal | None = None,
    ar_account_id: str | None = None,
) -> dict[str, Any]:
    """A Payment of the receipt's amount, applied to the sale's invoice for `applied` (default:
    the whole amount); what is not applied stays on the payment as unapplied credit.

    Ids may be any value the caller resolves later (the engine passes references).
    """
    amount = money(receipt.amount)
    if amount <= 0:
        raise MappingError(f"receipt {receipt.number} has a non-positive amount {amount}")
    on_invoice = amount if applied is None else money(applied)
    if not 0 <= on_invoice <= amount:
        raise MappingError(f"receipt {receipt.number} cannot apply {on_invoice} of {amount}")
    payment: dict[str, Any] = {
        "CustomerRef": {"value": customer_qbo_id},
        "TotalAmt": amount,
        "TxnDate": receipt.received_on.isoformat(),
        "PaymentRefNum": _ref_num(receipt),
    }
    if payment_method_id:
        payment["PaymentMethodRef"] = {"value": payment_method_id}
    if deposit_account_id:
        payment["DepositToAccountRef"] = {"value": str(deposit_account_id)}
    if ar_account_id:
        payment["ARAccountRef"] = {"value": str(ar_account_id)}
    payment["Line"] = (
        [{"Amount": on_invoice, "LinkedTxn": [{"TxnId": invoice_qbo_id, "TxnType": "Invoice"}]}]
        if on_invoice > 0
        else []
    )
    return payment


def to_qbo_credit_memo(
    adjustment: ReceiptRecord,
    customer_qbo_id: Any,
    adjustment_item_id: Any,
    ar_account_id: str | None = None,
) -> dict[str, Any]:
    """The CreditMemo for an adjustment that reduces the balance (positive amount)."""
    amount = money(adjustment.amount)
    if amount <= 0:
        raise MappingError(f"adjustment {adjustment.number} does not reduce the balance")
    memo: dict[str, Any] = {
        "DocNumber": _ref_num(adjustment),
        "TxnDate": adjustment.received_on.isoformat(),
        "CustomerRef": {"value": customer_qbo_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "Description": _label(adjustment),
                "SalesItemLineDetail": {
                    "ItemRef": {"value": adjustment_item_id},
                    "Qty": Decimal(1),
                    "UnitPrice": amount,
                    "TaxCodeRef": dict(NON_TAXABLE),
                },
            }
        ],
    }
    if ar_account_id:
        memo["ARAccountRef"] = {"value": str(ar_account_id)}
    return memo


def to_qbo_credit_application(
    adjustment: ReceiptRecord,
    customer_qbo_id: Any,
    invoice_qbo_id: Any,
    credit_memo_qbo_id: Any,
    *,
    applied: Decimal | None = None,
) -> dict[str, Any]:
    """The zero-amount Payment applying the adjustment's CreditMemo to the sale's invoice, for
    `applied` (default: the whole adjustment; less when less is open on the invoice)."""
    amount = money(adjustment.amount)
    if amount <= 0:
        raise MappingError(f"adjustment {adjustment.number} does not reduce the balance")
    on_invoice = amount if applied is None else money(applied)
    if not 0 < on_invoice <= amount:
        raise MappingError(f"adjustment {adjustment.number} cannot apply {on_invoice}")
    return {
        "CustomerRef": {"value": customer_qbo_id},
        "TotalAmt": money(Decimal(0)),
        "TxnDate": adjustment.received_on.isoformat(),
        "PaymentRefNum": _ref_num(adjustment),
        "Line": [
            {"Amount": on_invoice, "LinkedTxn": [{"TxnId": invoice_qbo_id, "TxnType": "Invoice"}]},
            {
                "Amount": on_invoice,
                "LinkedTxn": [{"TxnId": credit_memo_qbo_id, "TxnType": "CreditMemo"}],
            },
        ],
    }


def to_qbo_adjustment_line(adjustment: ReceiptRecord, adjustment_item_id: Any) -> dict[str, Any]:
    """The invoice line for an adjustment that increases the balance (negative amount)."""
    increase = -money(adjustment.amount)
    if increase <= 0:
        raise MappingError(f"adjustment {adjustment.number} does not increase the balance")
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": increase,
        "Description": _label(adjustment),
        "SalesItemLineDetail": {
            "ItemRef": {"value": adjustment_item_id},
            "Qty": Decimal(1),
            "UnitPrice": increase,
            "TaxCodeRef": dict(NON_TAXABLE),
        },
    }
