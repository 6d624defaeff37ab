"""The host reports changes; documents already pushed to QuickBooks are marked for the next run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from qbo_sync.models import Company, DocKind, RecordStatus, SyncDocument, SyncProfile

from crm.models import Customer, Product, Receipt, Sale, SaleLine, db


def _pushed(profile: SyncProfile, kind: DocKind, local_id: int) -> SyncDocument:
    assert profile.company_id is not None
    rec = SyncDocument(
        company_id=profile.company_id,
        profile_id=profile.id,
        kind=kind,
        local_id=str(local_id),
        qbo_id="1",
        sync_token="0",
        live=True,
        status=RecordStatus.SYNCED,
    )
    db.session.add(rec)
    return rec


def test_edits_mark_pushed_records_dirty_in_the_same_transaction(app_ctx: Flask) -> None:
    cust = Customer(first_name="Ann", last_name="Lee")
    prod = Product(name="Gutter", unit_price=Decimal("11.85"))
    sale = Sale(
        number="S1",
        customer=cust,
        sold_on=date(2026, 1, 5),
        lines=[SaleLine(product=prod, quantity=Decimal("10"), unit_price=Decimal("11.85"))],
    )
    other = Sale(number="S2", customer=cust, sold_on=date(2026, 1, 6))
    receipt = Receipt(
        number="R1",
        kind="receipt",
        customer=cust,
        sale=sale,
        received_on=date(2026, 1, 9),
        amount=Decimal("50.00"),
    )
    company = Company(realm_id="9130", company_name="Company A")
    profile = SyncProfile(segment_key=None, segment_name="All segments", company=company)
    db.session.add_all([cust, prod, sale, other, receipt, company, profile])
    db.session.commit()
    pushed = (
        (DocKind.CUSTOMER, cust),
        (DocKind.INVOICE, sale),
        (DocKind.INVOICE, other),
        (DocKind.PAYMENT, receipt),
    )
    for kind, obj in pushed:
        _pushed(profile, kind, obj.id)
    db.session.commit()

    def dirty(kind: DocKind, local_id: int) -> bool:
        doc = db.session.scalar(
            sa.select(SyncDocument).filter_by(kind=kind, local_id=str(local_id))
        )
        assert doc is not None
        db.session.refresh(doc)
        return doc.dirty

    assert not dirty(DocKind.INVOICE, sale.id)
    sale.lines[0].quantity = Decimal("12")  # a line edit is an edit of its sale
    db.session.commit()
    assert dirty(DocKind.INVOICE, sale.id)
    assert not dirty(DocKind.INVOICE, other.id)
    assert not dirty(DocKind.CUSTOMER, cust.id)

    cust.phone = "(614) 555-0100"
    db.session.rollback()  # an abandoned edit marks nothing
    assert not dirty(DocKind.CUSTOMER, cust.id)

    receipt_id = receipt.id
    db.session.delete(receipt)
    db.session.commit()
    assert dirty(DocKind.PAYMENT, receipt_id)  # the next run voids or deletes its payment
