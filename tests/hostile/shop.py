"""A small CRM builder for the hostile cases, and what the tests read back (the synced world)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import DocKind, SyncDocument, SyncProfile

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.engine.conftest import Books

SOLD = date(2026, 3, 2)
PAID = date(2026, 3, 9)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def fits(column: sa.Column[str] | object, wanted: int) -> int:
    """`wanted` characters where the database stores them (SQLite keeps any length), else the
    column's own length: PostgreSQL refuses longer text before the sync ever sees it."""
    length = getattr(getattr(column, "type", None), "length", None)
    if is_sqlite() or length is None:
        return wanted
    return min(wanted, int(length))


@dataclass
class Shop:
    """Builds CRM rows; every row it makes is kept by a short key for the assertions."""

    customers: dict[str, Customer] = field(default_factory=dict)
    sales: dict[str, Sale] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)

    def segment(self, name: str = "Roofing") -> MarketSegment:
        seg = db.session.scalar(sa.select(MarketSegment).filter_by(name=name))
        if seg is None:
            seg = MarketSegment(name=name)
            db.session.add(seg)
        return seg

    def product(self, name: str = "Shingles") -> Product:
        product = db.session.scalar(sa.select(Product).filter_by(name=name))
        if product is None:
            product = Product(name=name, unit_price=Decimal("100.00"))
            db.session.add(product)
        return product

    def customer(self, key: str, first: str, last: str, **fields: str | None) -> Customer:
        customer = Customer(first_name=first, last_name=last, **fields)
        db.session.add(customer)
        self.customers[key] = customer
        return customer

    def sale(
        self,
        key: str,
        customer: Customer,
        number: str,
        *lines: tuple[str, str],
        sold_on: date = SOLD,
        status: str = "sold",
        description: str | None = "Roof",
    ) -> Sale:
        sale = Sale(
            number=number,
            customer=customer,
            market_segment=self.segment(),
            sold_on=sold_on,
            status=status,
            lines=[
                SaleLine(
                    product=self.product(),
                    description=description,
                    quantity=Decimal(q),
                    unit_price=Decimal(p),
                )
                for q, p in lines
            ],
        )
        db.session.add(sale)
        self.sales[key] = sale
        return sale

    def receipt(
        self,
        key: str,
        sale: Sale,
        number: str,
        amount: str,
        *,
        on: date = PAID,
        method: str = "Check",
    ) -> Receipt:
        receipt = Receipt(
            number=number,
            kind="receipt",
            customer=sale.customer,
            sale=sale,
            received_on=on,
            payment_method=method,
            amount=Decimal(amount),
        )
        db.session.add(receipt)
        self.receipts[key] = receipt
        return receipt


def record(kind: DocKind, local_id: int) -> SyncDocument | None:
    return db.session.scalar(sa.select(SyncDocument).filter_by(kind=kind, local_id=str(local_id)))


@dataclass
class World:
    """The synced hostile CRM: the shop's rows, the profile, a reader of the company's books."""

    emu: EmulatorProcess
    profile: SyncProfile
    qbo: Books
    shop: Shop
    second_run_writes: int = 0

    def by_name(self) -> dict[str, dict[str, Any]]:
        return {str(c["DisplayName"]): c for c in self.qbo.all("Customer")}

    def invoices(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for inv in self.qbo.all("Invoice"):
            out.setdefault(str(inv.get("DocNumber")), []).append(inv)
        return out
