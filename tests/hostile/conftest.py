"""Hostile-input fixtures: one CRM full of hostile records next to ordinary ones, synced once per
module into an emulated company, then read back by the independent reader of tests/engine.

Module-scoped on purpose (the tests/hostile budget is 45 s a pass): every fixed case is a few
rows of this one CRM, and the tests assert on the one run (and the second, which writes nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue
from qbo_sync.models import DocKind, SyncDocument, SyncProfile

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, _all_tables
from tests.engine.conftest import Books

SOLD = date(2026, 3, 2)
PAID = date(2026, 3, 9)


@pytest.fixture(scope="module")
def module_emulator(
    emulator_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorProcess]:
    """One emulator for the module, on the port the app's settings name."""
    with EmulatorProcess(
        db_path=tmp_path_factory.mktemp("emu") / "emu.db",
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        control=True,
        port=emulator_port,
    ) as emu:
        yield emu


@pytest.fixture(scope="module")
def module_ctx(app: Flask) -> Iterator[Flask]:
    """An app context over an empty database for the whole module, emptied afterwards."""
    with app.app_context():
        queue().empty()
        yield app
        queue().empty()
        db.session.rollback()
        for table in _all_tables():
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


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
        self, key: str, sale: Sale, number: str, amount: str, *, on: date = PAID
    ) -> Receipt:
        receipt = Receipt(
            number=number,
            kind="receipt",
            customer=sale.customer,
            sale=sale,
            received_on=on,
            payment_method="Check",
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

    def by_name(self) -> dict[str, dict[str, object]]:
        return {str(c["DisplayName"]): c for c in self.qbo.all("Customer")}

    def invoices(self) -> dict[str, list[dict[str, object]]]:
        out: dict[str, list[dict[str, object]]] = {}
        for inv in self.qbo.all("Invoice"):
            out.setdefault(str(inv.get("DocNumber")), []).append(inv)
        return out


__all__ = ["PAID", "SOLD", "Path", "Shop", "World", "fits", "is_sqlite", "record"]
