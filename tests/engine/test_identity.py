"""Who is who in QuickBooks: name clashes linked only when it is the same person, invoice
numbers linked only when it is the same sale, and plain reasons when it cannot be either."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import DocKind, RecordStatus, RunStatus, SyncDocument, SyncRun

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.engine.conftest import books, connect, money, work


def _sale(customer: Customer, number: str, amount: str, receipt: str | None = None) -> Sale:
    seg = db.session.scalar(sa.select(MarketSegment).filter_by(name="Roofing"))
    product = db.session.scalar(sa.select(Product).order_by(Product.id))
    sale = Sale(
        number=number,
        customer=customer,
        market_segment=seg,
        sold_on=date(2026, 3, 2),
        lines=[
            SaleLine(
                product=product, description="Roof", quantity=Decimal(1), unit_price=Decimal(amount)
            )
        ],
    )
    db.session.add(sale)
    if receipt:
        db.session.add(
            Receipt(
                number=receipt,
                kind="receipt",
                customer=customer,
                sale=sale,
                received_on=date(2026, 3, 9),
                payment_method="Check",
                amount=Decimal("100.00"),
            )
        )
    return sale


def _record(kind: DocKind, local_id: int) -> SyncDocument:
    rec = db.session.scalar(sa.select(SyncDocument).filter_by(kind=kind, local_id=str(local_id)))
    assert rec is not None
    return rec


def test_name_and_number_clashes(crm: Flask, emulator: EmulatorProcess) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    qbo = books(emulator, "Company A")
    # In QuickBooks already: the same Zoë Adams (same e-mail), and an invoice S9001 of hers.
    theirs = qbo.create(
        "Customer",
        {
            "DisplayName": "Zoë Adams",
            "GivenName": "Zoë",
            "FamilyName": "Adams",
            "PrimaryEmailAddr": {"Address": "zoe@example.com"},
        },
    )
    item = qbo.all("Item")[0]
    qbo.create(
        "Invoice",
        {
            "DocNumber": "S9001",
            "CustomerRef": {"value": theirs["Id"]},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 50,
                    "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
                }
            ],
        },
    )
    zoe = Customer(first_name="Zoë", last_name="Adams", email="ZOE@example.com")
    emily = Customer(first_name="Emily", last_name="Platt", email="emily@example.net")  # employee
    other = Customer(first_name="Hal", last_name="Ng", email="hal@example.org")
    db.session.add_all([zoe, emily, other])
    _sale(zoe, "S9002", "300.00")
    _sale(emily, "S9003", "400.00")
    clash = _sale(other, "S9001", "500.00", receipt="R9001")  # the number is Zoë's invoice
    db.session.commit()

    start_sync(profile)
    work()

    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None and run.status is RunStatus.PARTIAL
    customers = {c["DisplayName"]: c for c in qbo.all("Customer")}
    assert "Zoë Adams" in customers and f"Emily Platt (C-{emily.id})" in customers
    assert "Emily Platt" not in customers  # that name belongs to an employee
    linked = _record(DocKind.CUSTOMER, zoe.id)
    assert linked.qbo_id == theirs["Id"] and "linked" in (linked.cleaned or "")
    assert money(customers["Zoë Adams"]["Balance"]) == Decimal("350.00")  # 50 theirs + 300 ours

    failed = _record(DocKind.INVOICE, clash.id)
    assert failed.status is RecordStatus.FAILED and failed.error_code == "6140"
    assert "already has this number" in (failed.explanation or "")
    assert failed.intuit_tid and failed.error_request_id
    blocked = _record(DocKind.PAYMENT, clash.receipts[0].id)
    assert blocked.status is RecordStatus.BLOCKED
    assert blocked.explanation and blocked.explanation.startswith("Waiting for sale S9001")
    assert blocked.root_cause == failed.explanation  # what must be fixed is the sale's number
    numbers = [i["DocNumber"] for i in qbo.all("Invoice")]
    assert numbers.count("S9001") == 1 and "S9002" in numbers and "S9003" in numbers
    assert "R9001" not in [p.get("PaymentRefNum") for p in qbo.all("Payment")]

    clash.number = "S9004"  # the office renames the sale; the next run gets both through
    db.session.commit()
    start_sync(profile)
    work()
    db.session.expire_all()
    assert _record(DocKind.INVOICE, clash.id).status is RecordStatus.SYNCED
    assert _record(DocKind.PAYMENT, clash.receipts[0].id).status is RecordStatus.SYNCED
    assert "R9001" in [p.get("PaymentRefNum") for p in qbo.all("Payment")]
