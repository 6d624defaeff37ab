"""The workbook's document pages: one invoice, payment or credit memo as QuickBooks shows it (the
header, the lines, the totals, and links to what it is applied to), at the paths qbo_sync's
links.py builds: `/app/<realm>/invoice|payment|creditmemo/<id>`. 404 for an unknown realm or Id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import abort, render_template

from .entities.common import money, ref_value
from .entities.ledger import payment_links
from .repo import Doc, Repo
from .state import emulator
from .workbook import amount_text, company_of, us_date
from .workbook import blueprint as blueprint  # re-exported: the workbook with these pages

ZERO = Decimal(0)
CENT_EXPONENT = -2
PAGE_OF = {"Invoice": "invoice", "CreditMemo": "creditmemo", "Payment": "payment"}
TYPE_TEXT = {"Invoice": "Invoice", "CreditMemo": "Credit Memo", "Payment": "Payment"}


@dataclass(frozen=True)
class LineRow:
    """One line as the form shows it (empty strings where QuickBooks shows nothing)."""

    number: str
    product: str
    description: str
    qty: str
    rate: str
    amount: str


@dataclass(frozen=True)
class LinkRow:
    """Another transaction this one is linked to, with the amount that links them."""

    page: str  # the workbook endpoint of the linked transaction ("" when it has no page)
    id: str
    type: str
    num: str
    date: str
    total: str  # the linked transaction's own total
    open: str  # its open balance (Balance, RemainingCredit) now
    amount: str  # applied between the two


@dataclass(frozen=True)
class Totals:
    subtotal: str
    discount: str  # "" without discount lines
    tax: str  # "" without sales tax
    total: str


def number_text(value: object) -> str:
    """A quantity or a rate: thousands separators, no trailing zeros (3, 1,250, 0.5)."""
    number = money(value, "Qty", ZERO).normalize()
    return f"{number:,f}"


def rate_text(value: object) -> str:
    """A unit price: two decimals, more when the price has them (33.333)."""
    number = money(value, "UnitPrice", ZERO)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < CENT_EXPONENT:
        return f"{number.normalize():,f}"
    return f"{number:,.2f}"


def doc_num(doc: Doc, field: str = "DocNumber") -> str:
    """The number the user knows the transaction by, its Id when it has none."""
    return str(doc.get(field) or doc.get("Id", ""))


def is_voided(doc: Doc) -> bool:
    """Voided as the emulator (and QuickBooks) voids: zero total, PrivateNote "Voided"."""
    total = money(doc.get("TotalAmt"), "TotalAmt", ZERO)
    return doc.get("PrivateNote") == "Voided" and total == 0


def found(repo: Repo, kind: str, doc_id: str) -> Doc:
    doc = repo.get(kind, doc_id)
    if doc is None:
        abort(404)
    return doc


def customer_link(repo: Repo, doc: Doc) -> tuple[str, str]:
    """(Id, current DisplayName) of the transaction's customer."""
    ref = doc.get("CustomerRef") or {}
    customer_id = ref_value(ref) or ""
    customer = repo.get("Customer", customer_id, include_deleted=True) if customer_id else None
    name = (customer or {}).get("DisplayName") or (ref.get("name") if isinstance(ref, dict) else "")
    return customer_id, str(name or customer_id)


def line_rows(doc: Doc) -> list[LineRow]:
    rows: list[LineRow] = []
    for line in doc.get("Line") or []:
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue
        number = str(line.get("LineNum", ""))
        description = str(line.get("Description", "") or "")
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            item = detail.get("ItemRef") or {}
            product = str(item.get("name", "") if isinstance(item, dict) else item)
            qty = number_text(detail["Qty"]) if "Qty" in detail else ""
            rate = rate_text(detail["UnitPrice"]) if "UnitPrice" in detail else ""
            amount = amount_text(line.get("Amount"))
            rows.append(LineRow(number, product, description, qty, rate, amount))
        elif kind == "DiscountLineDetail":
            detail = line.get("DiscountLineDetail") or {}
            product = "Discount"
            if detail.get("PercentBased") is True and "DiscountPercent" in detail:
                product = f"Discount {number_text(detail['DiscountPercent'])}%"
            amount = amount_text(-money(line.get("Amount"), "Amount", ZERO))
            rows.append(LineRow(number, product, description, "", "", amount))
        else:
            amount = amount_text(line["Amount"]) if "Amount" in line else ""
            rows.append(LineRow(number, "", description, "", "", amount))
    return rows


def totals(doc: Doc) -> Totals:
    lines = doc.get("Line") or []
    subtotal = sum(
        (
            money(x.get("Amount"), "Amount", ZERO)
            for x in lines
            if x.get("DetailType") == "SubTotalLineDetail"
        ),
        ZERO,
    )
    discounts = [x for x in lines if x.get("DetailType") == "DiscountLineDetail"]
    discount = sum((money(x.get("Amount"), "Amount", ZERO) for x in discounts), ZERO)
    tax = money((doc.get("TxnTaxDetail") or {}).get("TotalTax"), "TotalTax", ZERO)
    return Totals(
        subtotal=amount_text(subtotal),
        discount=amount_text(-discount) if discounts else "",
        tax=amount_text(tax) if tax else "",
        total=amount_text(doc.get("TotalAmt")),
    )


def linked_row(kind: str, doc: Doc | None, txn_id: str, amount: Decimal) -> LinkRow:
    """A row for the `kind` transaction `doc` (None: gone, shown by Id without a link)."""
    if doc is None:
        return LinkRow(
            "", txn_id, TYPE_TEXT.get(kind, kind), txn_id, "", "", "", amount_text(amount)
        )
    open_field = {"Invoice": "Balance", "CreditMemo": "RemainingCredit"}.get(kind)
    num_field = "PaymentRefNum" if kind == "Payment" else "DocNumber"
    return LinkRow(
        page=PAGE_OF[kind],
        id=str(doc["Id"]),
        type=TYPE_TEXT[kind],
        num=doc_num(doc, num_field),
        date=us_date(str(doc.get("TxnDate", ""))),
        total=amount_text(doc.get("TotalAmt")),
        open=amount_text(doc.get(open_field)) if open_field else "",
        amount=amount_text(amount),
    )


def paying(repo: Repo, doc: Doc, kind: str) -> tuple[list[LinkRow], list[LinkRow]]:
    """The payments linked to the invoice or credit memo `doc` with the amount each applies to
    it, and the credit memos applied to it through those payments (each with its credit)."""
    key = (kind, str(doc["Id"]))
    ids = [str(t.get("TxnId")) for t in doc.get("LinkedTxn") or [] if t.get("TxnType") == "Payment"]
    payments: list[LinkRow] = []
    credits: list[LinkRow] = []
    for payment in repo.some("Payment", ids):
        links = payment_links(payment)
        applied = sum((amount for k, amount in links if k == key), ZERO)
        payments.append(linked_row("Payment", payment, str(payment["Id"]), applied))
        if kind != "Invoice":
            continue
        for (other_kind, other_id), amount in links:
            if other_kind == "CreditMemo" and amount:
                memo = repo.get("CreditMemo", other_id)
                credits.append(linked_row("CreditMemo", memo, other_id, amount))
    return payments, credits


def _document_page(
    realm_id: str,
    kind: str,
    doc_id: str,
    template: str,
    details: Callable[[Repo, Doc], dict[str, Any]],
    number_field: str = "DocNumber",
) -> str:
    """One document's page: its company, number, customer, date and whether it was voided,
    and what `details` reads of it (in the same read of the store)."""
    company = company_of(realm_id)
    emu = emulator()
    with emu.store.read() as conn:
        repo = Repo(conn, realm_id, emu.clock)
        doc = found(repo, kind, doc_id)
        customer_id, customer_name = customer_link(repo, doc)
        fields = details(repo, doc)
    return render_template(
        template,
        company=company,
        realm_id=realm_id,
        number=doc_num(doc, number_field),
        customer_id=customer_id,
        customer_name=customer_name,
        date=us_date(str(doc.get("TxnDate", ""))),
        voided=is_voided(doc),
        **fields,
    )


@blueprint.get("/<realm_id>/invoice/<doc_id>")
def invoice(realm_id: str, doc_id: str) -> str:
    def details(repo: Repo, doc: Doc) -> dict[str, Any]:
        payments, credits = paying(repo, doc, "Invoice")
        return {
            "due_date": us_date(str(doc.get("DueDate", ""))),
            "lines": line_rows(doc),
            "totals": totals(doc),
            "balance": amount_text(doc.get("Balance")),
            "payments": payments,
            "credits": credits,
        }

    return _document_page(realm_id, "Invoice", doc_id, "invoice.html", details)


@blueprint.get("/<realm_id>/creditmemo/<doc_id>")
def creditmemo(realm_id: str, doc_id: str) -> str:
    def details(repo: Repo, doc: Doc) -> dict[str, Any]:
        payments, _ = paying(repo, doc, "CreditMemo")
        return {
            "lines": line_rows(doc),
            "totals": totals(doc),
            "remaining": amount_text(doc.get("RemainingCredit")),
            "payments": payments,
        }

    return _document_page(realm_id, "CreditMemo", doc_id, "creditmemo.html", details)


@blueprint.get("/<realm_id>/payment/<doc_id>")
def payment(realm_id: str, doc_id: str) -> str:
    def details(repo: Repo, doc: Doc) -> dict[str, Any]:
        applied = [
            linked_row(kind, repo.get(kind, txn_id), txn_id, amount)
            for (kind, txn_id), amount in payment_links(doc)
            if kind in PAGE_OF
        ]
        method = doc.get("PaymentMethodRef") or {}
        account = doc.get("DepositToAccountRef") or {}
        return {
            "method": str(method.get("name", "")) if isinstance(method, dict) else "",
            "reference": str(doc.get("PaymentRefNum", "") or ""),
            "deposit_to": str(account.get("name", "")) if isinstance(account, dict) else "",
            "amount": amount_text(doc.get("TotalAmt")),
            "invoices": [row for row in applied if row.type == TYPE_TEXT["Invoice"]],
            "credits": [row for row in applied if row.type == TYPE_TEXT["CreditMemo"]],
            "unapplied": amount_text(doc.get("UnappliedAmt")),
        }

    return _document_page(realm_id, "Payment", doc_id, "payment.html", details, "PaymentRefNum")
