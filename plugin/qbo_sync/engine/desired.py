"""Desired state (pure): the QuickBooks documents one sale should have, and its customer's.

References to other documents whose QuickBooks Id may not exist yet are `Ref`s; the planner
resolves them against recorded state. Amounts applied follow QuickBooks' own rule: each receipt
and credit is applied, in received order, up to what is still open on the invoice; any excess
stays on the payment as unapplied credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..errors import MappingError
from ..mapping import (
    ADJUSTMENT_ITEM_NAME,
    item_name,
    payment_method_name,
    to_qbo_credit_application,
    to_qbo_credit_memo,
    to_qbo_customer,
    to_qbo_invoice,
    to_qbo_item,
    to_qbo_payment,
)
from ..mapping.items import PAYMENT_METHOD_NAME_MAX
from ..mapping.receipts import REF_NUM_MAX
from ..mapping.text import clean, money
from ..models import DocKind
from ..source import CustomerRecord, ReceiptRecord, SaleRecord
from .names import name_key

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Ref:
    """The QuickBooks Id of another document of the company, known once it exists."""

    kind: DocKind
    local_id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.local_id}"


@dataclass(frozen=True, slots=True)
class Accounts:
    """The accounts one profile books to (None: QuickBooks' own default)."""

    ar_id: str | None
    income_id: str
    deposit_id: str | None


@dataclass
class Desired:
    """One document as the CRM says it should be. `body` may hold `Ref`s in place of Ids."""

    kind: DocKind
    local_id: str
    body: dict[str, Any]
    label: str
    sale_id: str | None = None
    profile_id: int | None = None
    txn_date: date | None = None
    # Facts the planner orders by: "customer", "invoice", "memo" (Refs), "total", "applied".
    facts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the document cannot be sent as it is (plain words)
    # A document it must wait for even when its body does not refer to it (a payment of an
    # invoice that cannot be sent, whatever it applies).
    waits_for: Ref | None = None

    @property
    def key(self) -> tuple[DocKind, str]:
        return (self.kind, self.local_id)


def customer_docs(customer: CustomerRecord, qbo_name: str | None) -> Desired:
    mapped = to_qbo_customer(customer, display_name=qbo_name)
    return Desired(
        DocKind.CUSTOMER,
        customer.id,
        {**mapped.body, "Active": True},
        label=f"customer {mapped.display_name}",
        facts={"notes": list(mapped.notes)},
    )


def item_doc(name: str, income_account_id: str) -> Desired:
    body = {**to_qbo_item(name, income_account_id), "Active": True}
    return Desired(DocKind.ITEM, name_key(body["Name"]), body, label=f"item {body['Name']}")


def payment_method_doc(name: str) -> Desired:
    method = payment_method_name(name)
    return Desired(
        DocKind.PAYMENT_METHOD,
        name_key(method),
        {"Name": method, "Active": True},
        label=f"payment method {method}",
    )


def sale_docs(
    sale: SaleRecord,
    receipts: Sequence[ReceiptRecord],
    accounts: Accounts,
    profile_id: int | None,
) -> list[Desired]:
    """Every document a live sale should have in its company, in dependency order.

    A cancelled sale has none (the caller does not ask). Receipts and adjustments are applied
    in (received on, id) order, each up to what is still open on the invoice.
    """
    customer = Ref(DocKind.CUSTOMER, sale.customer_id)
    invoice_ref = Ref(DocKind.INVOICE, sale.id)
    adjustment_item = Ref(DocKind.ITEM, name_key(item_name(ADJUSTMENT_ITEM_NAME)))
    ordered = sorted(receipts, key=lambda r: (r.received_on, _int(r.id)))
    increases = [r for r in ordered if r.kind == "adjustment" and money(r.amount) < 0]
    items = {
        line.product_name: Ref(DocKind.ITEM, name_key(item_name(line.product_name)))
        for line in sale.lines
    }
    docs: list[Desired] = []
    label = f"sale {sale.number}"
    notes: list[str] = []
    try:
        body = to_qbo_invoice(
            sale,
            customer,
            items,
            accounts.ar_id,
            increases=increases,
            adjustment_item_id=adjustment_item,
            notes=notes,
        )
        total = sum((Decimal(str(line["Amount"])) for line in body["Line"]), ZERO)
        invoice = Desired(
            DocKind.INVOICE,
            sale.id,
            body,
            label,
            sale.id,
            profile_id,
            sale.sold_on,
            {"customer": customer, "total": total, "notes": notes},
        )
    except MappingError as exc:
        invoice = Desired(
            DocKind.INVOICE,
            sale.id,
            {},
            label,
            sale.id,
            profile_id,
            sale.sold_on,
            {"customer": customer, "total": ZERO},
            error=f"The sale cannot be sent as it is: {exc}",
        )
        total = ZERO
    docs.append(invoice)
    open_amount = total
    credits_and_payments = ZERO
    for receipt in ordered:
        amount = money(receipt.amount)
        if receipt.kind == "adjustment":
            if amount <= 0:
                continue  # an increase is a line of the invoice; zero is nothing at all
            applied = min(amount, open_amount)
            open_amount -= applied
            credits_and_payments += amount
            for doc in _credit_docs(receipt, sale, customer, invoice_ref, applied, accounts):
                doc.profile_id = profile_id
                docs.append(doc)
            continue
        applied = max(min(amount, open_amount), ZERO)
        open_amount -= applied
        credits_and_payments += amount
        docs.append(_payment_doc(receipt, sale, customer, invoice_ref, applied, accounts))
        docs[-1].profile_id = profile_id
    if invoice.error:
        for doc in docs[1:]:
            doc.waits_for = invoice_ref
    invoice.facts["balance"] = open_amount
    invoice.facts["owed"] = total - credits_and_payments  # negative when overpaid
    return docs


def _payment_doc(
    receipt: ReceiptRecord,
    sale: SaleRecord,
    customer: Ref,
    invoice: Ref,
    applied: Decimal,
    accounts: Accounts,
) -> Desired:
    label = f"receipt {receipt.number}"
    method = (
        Ref(DocKind.PAYMENT_METHOD, name_key(payment_method_name(receipt.payment_method)))
        if receipt.payment_method and payment_method_name(receipt.payment_method)
        else None
    )
    notes: list[str] = []  # what the cleaning changed (the mapping cleans alike, unnoted)
    clean(receipt.number, "receipt number", REF_NUM_MAX, notes)
    clean(
        receipt.payment_method, "payment method", PAYMENT_METHOD_NAME_MAX, notes, forbid_colon=True
    )
    facts: dict[str, Any] = {
        "customer": customer,
        "invoice": invoice,
        "applied": applied,
        "total": money(receipt.amount),
        "notes": notes,
    }
    try:
        body = to_qbo_payment(
            receipt,
            customer,
            invoice,
            method,
            accounts.deposit_id,
            applied=applied,
            ar_account_id=accounts.ar_id,
        )
    except MappingError as exc:
        return Desired(
            DocKind.PAYMENT,
            receipt.id,
            {},
            label,
            sale.id,
            txn_date=receipt.received_on,
            facts=facts,
            error=f"The receipt cannot be sent as it is: {exc}",
        )
    return Desired(
        DocKind.PAYMENT, receipt.id, body, label, sale.id, None, receipt.received_on, facts
    )


def _credit_docs(
    adjustment: ReceiptRecord,
    sale: SaleRecord,
    customer: Ref,
    invoice: Ref,
    applied: Decimal,
    accounts: Accounts,
) -> list[Desired]:
    label = f"adjustment {adjustment.number}"
    item = Ref(DocKind.ITEM, name_key(item_name(ADJUSTMENT_ITEM_NAME)))
    memo_body = to_qbo_credit_memo(
        adjustment,
        customer,
        item,
        accounts.ar_id,
    )
    memo = Desired(
        DocKind.CREDIT_MEMO,
        adjustment.id,
        memo_body,
        label,
        sale.id,
        txn_date=adjustment.received_on,
        facts={"customer": customer, "total": money(adjustment.amount)},
    )
    memo_ref = Ref(DocKind.CREDIT_MEMO, adjustment.id)
    docs = [memo]
    if applied > 0:  # with nothing open on the invoice, the credit stays on the customer
        app_body = to_qbo_credit_application(
            adjustment,
            customer,
            invoice,
            memo_ref,
            applied=applied,
        )
        docs.append(
            Desired(
                DocKind.CREDIT_APPLICATION,
                adjustment.id,
                app_body,
                f"{label} (applied to sale {sale.number})",
                sale.id,
                txn_date=adjustment.received_on,
                facts={
                    "customer": customer,
                    "invoice": invoice,
                    "memo": memo_ref,
                    "applied": applied,
                },
            )
        )
    return docs


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
