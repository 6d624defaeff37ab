"""CRM sale -> QuickBooks Invoice JSON: one non-taxable item line per sale line.

Amounts are the CRM's, to the cent. QuickBooks checks Amount = Qty x UnitPrice on each line
(6070), so `line_qty_price` sends the CRM's quantity and unit price only when their product is
exactly the line amount; otherwise (a fractional quantity whose product has more than two
decimals) the line goes as Qty 1 at the line amount, and its description says "qty x price".
Sales tax is out of scope: lines are non-taxable and the invoice carries TotalTax 0, the
override QuickBooks honours even under automated sales tax, so its total is the CRM's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..errors import MappingError
from ..source import ReceiptRecord, SaleLineRecord, SaleRecord
from .items import item_name
from .receipts import to_qbo_adjustment_line
from .text import clean, clean_multiline, money

DOC_NUMBER_MAX = 21
DESCRIPTION_MAX = 4000
# US pseudo tax code "not taxable": sales tax is out of scope, every line is sent without tax.
NON_TAXABLE = {"value": "NON"}


def _item_id(line: SaleLineRecord, item_ids: Mapping[str, Any]) -> Any:
    item_id = item_ids.get(line.product_name) or item_ids.get(item_name(line.product_name))
    if not item_id:
        raise MappingError(f"no QuickBooks item for product {line.product_name!r}")
    return item_id


def line_qty_price(line: SaleLineRecord) -> tuple[Decimal, Decimal, str | None]:
    """(Qty, UnitPrice, note) so that Qty x UnitPrice is exactly the CRM's line amount."""
    amount = money(line.amount)
    if line.quantity * line.unit_price == amount:
        return line.quantity, line.unit_price, None
    return Decimal(1), amount, f"{line.quantity} x {line.unit_price}"


def to_qbo_line(
    line: SaleLineRecord, item_id: Any, notes: list[str] | None = None
) -> dict[str, Any]:
    """One SalesItemLineDetail line; Amount is the CRM's own line amount (cents). What had to
    change to suit QuickBooks is appended to `notes`."""
    notes = [] if notes is None else notes
    out: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": money(line.amount),
    }
    qty, price, note = line_qty_price(line)
    description = clean_multiline(line.description, "description", DESCRIPTION_MAX, notes)
    if note:
        notes.append(f"line {note}: sent as 1 x {out['Amount']} (QuickBooks wants Qty x Price)")
        description = f"{description} ({note})" if description else note
        description = description[:DESCRIPTION_MAX]
    if description:
        out["Description"] = description
    out["SalesItemLineDetail"] = {
        "ItemRef": {"value": item_id},
        "Qty": qty,
        "UnitPrice": price,
        "TaxCodeRef": dict(NON_TAXABLE),
    }
    return out


def to_qbo_invoice(
    sale: SaleRecord,
    customer_qbo_id: Any,
    item_ids_by_product_name: Mapping[str, Any],
    ar_account_id: str | None,
    *,
    increases: Sequence[ReceiptRecord] = (),
    adjustment_item_id: Any | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The Invoice for a sale: DocNumber = sale number, TxnDate = sold-on date.

    `item_ids_by_product_name` maps a product name (as on the sale line, or its cleaned
    `item_name`) to the Item Id. `increases` are the sale's adjustments that RAISE its balance
    (negative amounts, see receipts.py): each becomes one extra line on the invoice, booked to
    the adjustment item. Raises MappingError when an item is missing or the sale has no line.
    What had to change to suit QuickBooks is appended to `notes` (once each).
    """
    if not sale.lines:
        raise MappingError(f"sale {sale.number} has no lines")
    found: list[str] = []
    doc_number = clean(sale.number, "sale number", 10**9, found)
    if len(doc_number) > DOC_NUMBER_MAX:
        raise MappingError(
            f"sale number {doc_number!r} is longer than QuickBooks' {DOC_NUMBER_MAX} characters"
        )
    lines = [
        to_qbo_line(line, _item_id(line, item_ids_by_product_name), found) for line in sale.lines
    ]
    if notes is not None:
        notes.extend(n for n in dict.fromkeys(found) if n not in notes)
    if increases:
        if not adjustment_item_id:
            raise MappingError("an adjustment item is needed for adjustments raising the balance")
        lines.extend(to_qbo_adjustment_line(adj, adjustment_item_id) for adj in increases)
    total = sum((money(line["Amount"]) for line in lines), Decimal("0.00"))
    if total < 0:
        raise MappingError(
            f"sale {doc_number} totals {total}: QuickBooks takes invoices of 0 or more "
            "(a negative line is fine, a negative sale is not; record a credit instead)"
        )
    invoice: dict[str, Any] = {
        "DocNumber": doc_number,
        "TxnDate": sale.sold_on.isoformat(),
        "CustomerRef": {"value": customer_qbo_id},
        "Line": lines,
        "TxnTaxDetail": {"TotalTax": Decimal("0.00")},
    }
    if ar_account_id:
        invoice["ARAccountRef"] = {"value": str(ar_account_id)}
    return invoice
