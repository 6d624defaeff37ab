"""The peers' way, for comparison: python-quickbooks objects, one `.save()` per record, one
after another, against the same emulator settings as the throughput run.

Pushes a fixed prefix of the CRM (whole customers with their sales, receipts and adjustments):
at ~0.4 s of QuickBooks time per record the whole data would take most of an hour."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any

from intuitlib.client import AuthClient
from qbo_sync.profiles import parse_redirect
from quickbooks.client import QuickBooks
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

from crm.models import Customer as CrmCustomer
from crm.models import Product, Sale, db

from .stack import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Stack


def client(stack: Stack, company: str) -> QuickBooks:
    """python-quickbooks unmodified but for its base URL, on an intuit-oauth AuthClient."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the emulator serves plain http
    auth = AuthClient(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, environment=stack.emu.discovery_url)
    params = parse_redirect(stack.emu.authorize(CLIENT_ID, REDIRECT_URI, "naive", company=company))
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    base = f"{stack.emu.base_url}/v3"
    cls = type("LocalQuickBooks", (QuickBooks,), {"api_url_v3": base, "sandbox_api_url_v3": base})
    qb: QuickBooks = cls(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=params["realmId"],
        minorversion=75,
    )
    return qb


def _line(item: Item, description: str | None, qty: Decimal, price: Decimal) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = float((qty * price).quantize(Decimal("0.01")))
    line.Description = description or ""
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = float(qty)
    line.SalesItemLineDetail.UnitPrice = float(price)
    return line


def push(stack: Stack, company: str, customers: int) -> dict[str, Any]:
    """Push the first `customers` CRM customers with everything they have; count the saves."""
    qb = client(stack, company)
    income = Account.where("Name = 'Sales of Product Income'", qb=qb)[0]
    saves = 0
    started = time.monotonic()
    items: dict[int, Item] = {}
    people = db.session.scalars(
        db.select(CrmCustomer).order_by(CrmCustomer.id).limit(customers)
    ).all()
    for person in people:
        cust = Customer()
        cust.GivenName, cust.FamilyName = person.first_name, person.last_name
        cust.DisplayName = person.full_name
        saved_customer = cust.save(qb=qb)
        saves += 1
        sales = db.session.scalars(
            db.select(Sale).where(Sale.customer_id == person.id).order_by(Sale.id)
        ).all()
        for sale in sales:
            for line in sale.lines:
                if line.product_id not in items:
                    product = db.session.get(Product, line.product_id)
                    assert product is not None
                    item = Item()
                    item.Name, item.Type = product.name, "Service"
                    item.IncomeAccountRef = income.to_ref()
                    items[line.product_id] = item.save(qb=qb)
                    saves += 1
            inv = Invoice()
            inv.CustomerRef = saved_customer.to_ref()
            inv.DocNumber = sale.number
            inv.TxnDate = sale.sold_on.isoformat()
            inv.Line = [
                _line(items[x.product_id], x.description, x.quantity, x.unit_price)
                for x in sale.lines
            ]
            saved_invoice = inv.save(qb=qb)
            saves += 1
            open_balance = Decimal(str(saved_invoice.TotalAmt))
            for receipt in sale.receipts:
                if receipt.kind == "adjustment":
                    memo = CreditMemo()
                    memo.CustomerRef = saved_customer.to_ref()
                    memo.TxnDate = receipt.received_on.isoformat()
                    memo.Line = [
                        _line(
                            items[sale.lines[0].product_id],
                            "CRM Adjustment",
                            Decimal(1),
                            receipt.amount,
                        )
                    ]
                    memo.save(qb=qb)
                else:
                    payment = Payment()
                    payment.CustomerRef = saved_customer.to_ref()
                    payment.TotalAmt = float(receipt.amount)
                    payment.PaymentRefNum = receipt.number
                    payment.TxnDate = receipt.received_on.isoformat()
                    applied = min(receipt.amount, open_balance)
                    open_balance -= applied
                    payment.Line = []
                    if applied > 0:
                        pline = PaymentLine()
                        pline.Amount = float(applied)
                        linked = LinkedTxn()
                        linked.TxnId, linked.TxnType = saved_invoice.Id, "Invoice"
                        pline.LinkedTxn = [linked]
                        payment.Line = [pline]
                    payment.save(qb=qb)
                saves += 1
    return {"records": saves, "customers": len(people), "seconds": time.monotonic() - started}
