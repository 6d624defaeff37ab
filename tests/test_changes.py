"""The host reports changes; records already pushed to QuickBooks are marked for the next run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from qbo_sync.models import RecordStatus, SyncProfile, SyncRecord

from crm.models import Customer, Product, Receipt, Sale, SaleLine, db


def _pushed(profile: SyncProfile, kind: str, local_id: int) -> SyncRecord:
    rec = SyncRecord(
        profile_id=profile.id,
        realm_id="9130",
        kind=kind,
        local_id=str(local_id),
        qbo_id="1",
        sync_token="0",
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
    profile = SyncProfile(segment_key=None, segment_name="All segments")
    db.session.add_all([cust, prod, sale, other, receipt, profile])
    db.session.commit()
    for kind, obj in (("customer", cust), ("sale", sale), ("sale", other), ("receipt", receipt)):
        _pushed(profile, kind, obj.id)
    db.session.commit()

    def state(kind: str, local_id: int) -> tuple[bool, bool]:
        rec = db.session.scalar(sa.select(SyncRecord).filter_by(kind=kind, local_id=str(local_id)))
        assert rec is not None
        db.session.refresh(rec)
        return rec.dirty, rec.deleted

    assert state("sale", sale.id) == (False, False)
    sale.lines[0].quantity = Decimal("12")  # a line edit is an edit of its sale
    db.session.commit()
    assert state("sale", sale.id) == (True, False)
    assert state("sale", other.id) == (False, False)
    assert state("customer", cust.id) == (False, False)

    cust.phone = "(614) 555-0100"
    db.session.rollback()  # an abandoned edit marks nothing
    assert state("customer", cust.id) == (False, False)

    db.session.delete(receipt)
    db.session.commit()
    assert state("receipt", receipt.id) == (True, True)
