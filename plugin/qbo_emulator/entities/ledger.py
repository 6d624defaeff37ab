"""Balances derived from payments: invoice Balance, credit RemainingCredit, customer Balance."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from ..repo import Doc, Repo
from .common import cents, money

Key = tuple[str, str]


def payment_links(payment: Doc) -> list[tuple[Key, Decimal]]:
    """((TxnType, TxnId), Amount) for every linked line of a payment."""
    links: list[tuple[Key, Decimal]] = []
    for line in payment.get("Line") or []:
        amount = money(line.get("Amount"), "Line.Amount", Decimal(0))
        for linked in line.get("LinkedTxn") or []:
            links.append(((str(linked.get("TxnType")), str(linked.get("TxnId"))), amount))
    return links


def applied_to(repo: Repo, customer_id: str, key: Key, skip_payment: str | None) -> Decimal:
    total = Decimal(0)
    for payment in repo.for_customer("Payment", customer_id):
        if payment["Id"] == skip_payment:
            continue
        total += sum((amount for k, amount in payment_links(payment) if k == key), Decimal(0))
    return total


def payments_linking(repo: Repo, customer_id: str, key: Key) -> list[str]:
    return [
        p["Id"]
        for p in repo.for_customer("Payment", customer_id)
        if any(k == key and amount != 0 for k, amount in payment_links(p))
    ]


def recompute(repo: Repo, customer_id: str | None) -> None:
    """Bring every open balance of one customer in line with its payments."""
    if not customer_id:
        return
    applied: dict[Key, Decimal] = defaultdict(Decimal)
    linked_by: dict[Key, list[str]] = defaultdict(list)
    payments = repo.for_customer("Payment", customer_id)
    unapplied = Decimal(0)
    for payment in payments:
        unapplied += money(payment.get("UnappliedAmt"), "UnappliedAmt", Decimal(0))
        for key, amount in payment_links(payment):
            applied[key] += amount
            if amount != 0 and payment["Id"] not in linked_by[key]:
                linked_by[key].append(payment["Id"])
    open_total = Decimal(0)
    for kind, field in (("Invoice", "Balance"), ("CreditMemo", "RemainingCredit")):
        for doc in repo.for_customer(kind, customer_id):
            key = (kind, doc["Id"])
            total = money(doc.get("TotalAmt"), "TotalAmt", Decimal(0))
            balance = cents(total - applied[key])
            links = [{"TxnId": pid, "TxnType": "Payment"} for pid in linked_by[key]]
            if (
                money(doc.get(field), field, Decimal(0)) != balance
                or doc.get("LinkedTxn", []) != links
            ):
                doc[field] = balance
                if kind == "CreditMemo":
                    doc["Balance"] = balance
                doc["LinkedTxn"] = links
                if not links:
                    doc.pop("LinkedTxn")
                repo.save(kind, doc, bump=True)
            open_total += balance if kind == "Invoice" else -balance
    customer = repo.get("Customer", customer_id, include_deleted=True, see_all=True)
    if customer is None:
        return
    balance = cents(open_total - unapplied)
    if money(customer.get("Balance"), "Balance", Decimal(0)) != balance:
        customer["Balance"] = balance
        customer["BalanceWithJobs"] = balance
        repo.save("Customer", customer, bump=False)
