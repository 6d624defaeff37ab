"""The office at work while runs go on: random CRM edits, each committed on its own, drawn from
one seeded random generator so a failing trial replays with the same CHAOS_SEED.

Edits: line amounts, lines added and removed, cancellations and restorations, sales and receipts
deleted, receipts turned adjustments and back, discounts turned surcharges, receipt amounts, new
customers, sales and receipts, and sales moved between the synced segments (within Company A and
between the companies) or created in the segment nobody syncs."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.models import (
    CENT,
    PAYMENT_METHODS,
    Customer,
    MarketSegment,
    Product,
    Receipt,
    Sale,
    SaleLine,
    db,
)

SYNCED = ("Roofing", "Siding", "Windows & Doors")  # Roofing, Siding -> A; Windows & Doors -> B
UNSYNCED = "Bath Remodel"  # no profile takes it: nothing of it may reach QuickBooks


class Mutator:
    """`Mutator(rng, today).edit()` makes one random edit and says which (for the report)."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.done: Counter[str] = Counter()
        self._edits: list[tuple[int, Callable[[], bool]]] = [
            (6, self.edit_line),
            (2, self.add_line),
            (2, self.remove_line),
            (2, self.cancel_or_restore),
            (1, self.delete_sale),
            (2, self.delete_receipt),
            (2, self.flip_kind),
            (1, self.flip_sign),
            (3, self.edit_receipt_amount),
            (2, self.new_customer_and_sale),
            (2, self.new_sale),
            (4, self.new_receipt),
            (2, self.move_segment),
        ]

    def edit(self) -> str:
        """One committed edit; its name (an edit that found nothing to change is drawn again)."""
        weights = [w for w, _ in self._edits]
        for _ in range(20):
            (_, action) = self.rng.choices(self._edits, weights=weights)[0]
            db.session.expire_all()
            if action():
                db.session.commit()
                self.done[action.__name__] += 1
                return action.__name__
            db.session.rollback()
        return "nothing"

    def edits(self, count: int) -> None:
        for _ in range(count):
            self.edit()

    # -- picking ---------------------------------------------------------------------------

    def _segment(self, name: str) -> MarketSegment:
        seg = db.session.scalar(sa.select(MarketSegment).filter_by(name=name))
        assert seg is not None, name
        return seg

    def _pick_sale(self, sold: bool | None = True, synced: bool = True) -> Sale | None:
        query = sa.select(Sale.id).join(MarketSegment)
        query = query.where(MarketSegment.name.in_(SYNCED if synced else (UNSYNCED,)))
        if sold is not None:
            query = query.where(Sale.status == ("sold" if sold else "cancelled"))
        ids = list(db.session.scalars(query.order_by(Sale.id)))
        return db.session.get(Sale, self.rng.choice(ids)) if ids else None

    def _pick_receipt(self, kind: str | None = None) -> Receipt | None:
        query = sa.select(Receipt.id).join(Sale).join(MarketSegment)
        query = query.where(MarketSegment.name.in_(SYNCED))
        if kind is not None:
            query = query.where(Receipt.kind == kind)
        ids = list(db.session.scalars(query.order_by(Receipt.id)))
        return db.session.get(Receipt, self.rng.choice(ids)) if ids else None

    def _product(self) -> Product:
        ids = list(db.session.scalars(sa.select(Product.id).order_by(Product.id)))
        product = db.session.get(Product, self.rng.choice(ids))
        assert product is not None
        return product

    def _line(self) -> SaleLine:
        product = self._product()
        qty = Decimal(self.rng.choice((1, 1, 2, 3, 5, 10)))
        return SaleLine(
            product=product, description=product.name, quantity=qty, unit_price=product.unit_price
        )

    def _number(self, model: type[Sale] | type[Receipt], prefix: str) -> str:
        top = db.session.scalar(sa.select(sa.func.max(model.id))) or 0
        return f"{prefix}{top + 1 + self.rng.randint(0, 9) * 100000}"

    def _receipt_on(self, sale: Sale, amount: Decimal, kind: str = "receipt") -> Receipt:
        received = min(self.today, sale.sold_on + timedelta(days=self.rng.randint(0, 30)))
        return Receipt(
            number=self._number(Receipt, "CR"),
            kind=kind,
            customer=sale.customer,
            sale=sale,
            received_on=received,
            payment_method=self.rng.choice(PAYMENT_METHODS) if kind == "receipt" else None,
            amount=amount,
        )

    # -- edits ------------------------------------------------------------------------------

    def edit_line(self) -> bool:
        sale = self._pick_sale()
        if sale is None or not sale.lines:
            return False
        line = self.rng.choice(sale.lines)
        if self.rng.random() < 0.5:
            line.quantity = Decimal(self.rng.choice((1, 2, 3, 4, 7, 12)))
        else:
            factor = Decimal(self.rng.choice(("0.85", "0.9", "1.1", "1.25")))
            line.unit_price = (line.unit_price * factor).quantize(CENT)
        return True

    def add_line(self) -> bool:
        sale = self._pick_sale()
        if sale is None:
            return False
        sale.lines.append(self._line())
        return True

    def remove_line(self) -> bool:
        sale = self._pick_sale()
        if sale is None or len(sale.lines) < 2:
            return False
        sale.lines.remove(self.rng.choice(sale.lines))  # delete-orphan removes the row
        return True

    def cancel_or_restore(self) -> bool:
        restore = self.rng.random() < 0.3
        sale = self._pick_sale(sold=not restore)
        if sale is None:
            return False
        sale.status = "sold" if restore else "cancelled"
        return True

    def delete_sale(self) -> bool:
        sale = self._pick_sale(sold=None)
        if sale is None:
            return False
        for receipt in list(sale.receipts):
            db.session.delete(receipt)
        db.session.delete(sale)
        return True

    def delete_receipt(self) -> bool:
        receipt = self._pick_receipt()
        if receipt is None:
            return False
        db.session.delete(receipt)
        return True

    def flip_kind(self) -> bool:
        """A receipt re-entered as an adjustment (a discount), or an adjustment as a receipt."""
        receipt = self._pick_receipt()
        if receipt is None:
            return False
        if receipt.kind == "receipt":
            receipt.kind, receipt.payment_method = "adjustment", None
        else:
            receipt.kind, receipt.payment_method = "receipt", self.rng.choice(PAYMENT_METHODS)
            receipt.amount = abs(receipt.amount)  # money received is never negative
        return True

    def flip_sign(self) -> bool:
        """A discount turned into a surcharge (a negative adjustment raises the balance)."""
        adjustment = self._pick_receipt("adjustment")
        if adjustment is None:
            return False
        adjustment.amount = -adjustment.amount
        return True

    def edit_receipt_amount(self) -> bool:
        receipt = self._pick_receipt("receipt")
        if receipt is None:
            return False
        factor = Decimal(self.rng.choice(("0.5", "0.8", "1.2", "1.5")))
        receipt.amount = max(Decimal("1.00"), (receipt.amount * factor).quantize(CENT))
        return True

    def new_customer_and_sale(self) -> bool:
        n = (db.session.scalar(sa.select(sa.func.max(Customer.id))) or 0) + 1
        customer = Customer(
            first_name=self.rng.choice(("Ada", "Grace", "Linus", "Edsger", "Barbara")),
            last_name=f"Chaos{n}",
            email=f"chaos{n}@example.com",
        )
        db.session.add(customer)
        return self._new_sale(customer)

    def new_sale(self) -> bool:
        ids = list(db.session.scalars(sa.select(Customer.id).order_by(Customer.id)))
        customer = db.session.get(Customer, self.rng.choice(ids))
        return customer is not None and self._new_sale(customer)

    def _new_sale(self, customer: Customer) -> bool:
        names = (*SYNCED, UNSYNCED)
        segment = self.rng.choices(names, weights=(3, 3, 3, 1))[0]
        sale = Sale(
            number=self._number(Sale, "CS"),
            customer=customer,
            market_segment=self._segment(segment),
            sold_on=self.today - timedelta(days=self.rng.randint(0, 400)),
            lines=[self._line() for _ in range(self.rng.randint(1, 3))],
        )
        db.session.add(sale)
        if self.rng.random() < 0.6:
            db.session.add(self._receipt_on(sale, (sale.amount / 2).quantize(CENT)))
        return True

    def new_receipt(self) -> bool:
        sale = self._pick_sale()
        if sale is None:
            return False
        kind = "adjustment" if self.rng.random() < 0.2 else "receipt"
        share = Decimal(self.rng.choice(("0.05", "0.1", "0.25", "0.5", "1.2")))
        amount = max(Decimal("1.00"), (sale.amount * share).quantize(CENT))
        if kind == "adjustment" and self.rng.random() < 0.3:
            amount = -amount
        db.session.add(self._receipt_on(sale, amount, kind))
        return True

    def move_segment(self) -> bool:
        sale = self._pick_sale(sold=None)
        if sale is None or sale.market_segment is None:
            return False
        others = [s for s in SYNCED if s != sale.market_segment.name]
        sale.market_segment = self._segment(self.rng.choice(others))
        return True
