"""CRM tables: segments, customers, products, sales with lines, receipts and adjustments, users.

Money is Numeric(12, 2) in the database and Decimal in Python. Timestamps are aware UTC.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from qbo_sync.models import NAMING_CONVENTION, UTCDateTime, utcnow
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship
from werkzeug.security import generate_password_hash

CENT = Decimal("0.01")
Money = sa.Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), Decimal: Money},
    )


db = SQLAlchemy(model_class=Base)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, Timestamped, db.Model):  # type: ignore[name-defined,misc]
    """A back-office account. Sessions name the account by its session token, not its id:
    signing out or changing the password draws a new token, so every older session cookie
    (a copied one too) names nobody."""

    __tablename__ = "user_account"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )

    def get_id(self) -> str:
        return self.session_token

    def end_sessions(self) -> None:
        """Refuse every session signed in so far (the caller commits)."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()


class MarketSegment(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "market_segment"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)

    def __str__(self) -> str:
        return self.name


class Customer(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customer"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    company_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    alt_phone: Mapped[str | None] = mapped_column(sa.String(40))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str | None] = mapped_column(sa.String(40))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))

    sales: Mapped[list[Sale]] = relationship(back_populates="customer")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def balance_due(self) -> Decimal:
        return sum((s.balance_due for s in self.sales), Decimal("0.00"))

    def __str__(self) -> str:
        return self.full_name


class Product(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "product"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    sku: Mapped[str | None] = mapped_column(sa.String(40))
    unit_price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))

    def __str__(self) -> str:
        return self.name


SALE_STATUSES = ("sold", "cancelled")
RECEIPT_KINDS = ("receipt", "adjustment")
PAYMENT_METHODS = ("Cash", "Check", "Credit Card", "Financing")


class Sale(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    """A sale. Its balance is what the customer still owes on it; a cancelled sale owes nothing."""

    __tablename__ = "sale"
    __table_args__ = (
        sa.Index("ix_sale_segment_sold_on", "market_segment_id", "sold_on"),
        {"sqlite_autoincrement": True},  # a deleted row's id is never reused
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(21), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    market_segment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("market_segment.id"))
    sold_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16), default="sold")

    customer: Mapped[Customer] = relationship(back_populates="sales")
    market_segment: Mapped[MarketSegment | None] = relationship()
    lines: Mapped[list[SaleLine]] = relationship(
        back_populates="sale", cascade="all, delete-orphan", order_by="SaleLine.id"
    )
    receipts: Mapped[list[Receipt]] = relationship(
        back_populates="sale", order_by="Receipt.received_on"
    )

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def applied(self) -> Decimal:
        return sum((r.amount for r in self.receipts), Decimal("0.00"))

    @property
    def balance_due(self) -> Decimal:
        if self.status == "cancelled":
            return Decimal("0.00")
        return (self.amount - self.applied).quantize(CENT)

    def __str__(self) -> str:
        return self.number


class SaleLine(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sale_line"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(sa.ForeignKey("sale.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    description: Mapped[str | None] = mapped_column(sa.String(4000))
    quantity: Mapped[Decimal] = mapped_column(default=Decimal("1.00"))
    unit_price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))

    sale: Mapped[Sale] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def amount(self) -> Decimal:
        return ((self.quantity or Decimal(0)) * (self.unit_price or Decimal(0))).quantize(CENT)

    def __str__(self) -> str:
        return f"{self.product} x {self.quantity}"


class Receipt(Timestamped, db.Model):  # type: ignore[name-defined,misc]
    """Money received on a sale (kind "receipt"), or an adjustment of what is owed on it.

    An adjustment's amount reduces the sale's balance like a receipt does (a discount or write-off);
    a negative adjustment increases it.
    """

    __tablename__ = "receipt"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted row's id is never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(21), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="receipt")
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    sale_id: Mapped[int] = mapped_column(sa.ForeignKey("sale.id"), index=True)
    received_on: Mapped[date]
    payment_method: Mapped[str | None] = mapped_column(sa.String(40))
    amount: Mapped[Decimal]

    customer: Mapped[Customer] = relationship()
    sale: Mapped[Sale] = relationship(back_populates="receipts")

    def __str__(self) -> str:
        return self.number
