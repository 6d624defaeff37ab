"""The contract between the host CRM and the plugin: what the host must be able to answer.

The plugin never imports the host. The host hands `QBOSync` an object satisfying `CRMSource`,
which reads its data as the plain records below and tells the plugin of inserts, updates and
deletes as they are committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from sqlalchemy.engine import Connection


class RecordKind(StrEnum):
    """What a local record is; also the `kind` column of the plugin's per-record state."""

    CUSTOMER = "customer"
    PRODUCT = "product"
    SALE = "sale"
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"


class ChangeOp(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: str
    first_name: str
    last_name: str
    company_name: str | None
    email: str | None
    phone: str | None
    alt_phone: str | None
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None


@dataclass(frozen=True, slots=True)
class SaleLineRecord:
    product_id: str
    product_name: str
    description: str | None
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class SaleRecord:
    id: str
    number: str
    customer_id: str
    segment_key: str | None
    sold_on: date
    status: str  # "sold" or "cancelled"
    lines: tuple[SaleLineRecord, ...]
    updated_at: datetime | None = None

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    id: str
    number: str
    kind: str  # "receipt" or "adjustment"
    customer_id: str
    sale_id: str
    received_on: date
    payment_method: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Scope:
    """What a run covers, known without loading the sales: their ids, customers and products."""

    sale_ids: list[str]
    customer_ids: list[str]
    product_names: list[str]  # of the sales not cancelled


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    kind: RecordKind
    local_id: str
    op: ChangeOp
    related: tuple[tuple[RecordKind, str], ...] = field(default=())


ChangeListener = Callable[[Connection, Sequence[ChangeEvent]], None]


@runtime_checkable
class CRMSource(Protocol):
    """How the plugin reads the host CRM. Every iterator streams; none loads a whole table."""

    def segments(self) -> list[SegmentRecord]: ...

    def iter_sales(
        self,
        segment_key: str | None,
        sold_after: date | None,
        sale_ids: Sequence[str] | None = None,
        chunk_size: int = 500,
        with_lines: bool = True,
    ) -> Iterator[SaleRecord]:
        """Sales in scope, ordered by id: segment (None = all), sold on or after the date.

        With `with_lines=False` the records carry no lines (cheaper, when only headers matter).
        """
        ...

    def scope(
        self,
        segment_key: str | None,
        sold_after: date | None,
        sale_ids: Sequence[str] | None = None,
    ) -> Scope:
        """The same sales as `iter_sales`, summarised by light queries."""
        ...

    def customers(self, ids: Iterable[str]) -> Iterator[CustomerRecord]: ...

    def receipts_for_sales(self, sale_ids: Iterable[str]) -> Iterator[ReceiptRecord]:
        """Receipts and adjustments of these sales, ordered by received date then id."""
        ...

    def sales_of(self, kind: RecordKind, local_ids: Iterable[str]) -> list[str]:
        """Ids of the sales these records belong to (a customer's sales, a receipt's sale)."""
        ...

    def record_url(self, kind: RecordKind, local_id: str) -> str | None:
        """Where the record lives in the CRM's admin (called while serving a request)."""
        ...

    def record_labels(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        """How the CRM names these records, by id, in one query: "Sale S400 (William Smith)",
        "Receipt R000", "Adjustment A001", "Customer William Smith". Missing ids are absent."""
        ...

    def watch(self, listener: ChangeListener) -> None:
        """Call `listener(connection, events)` inside the host's transaction after each flush.

        The listener writes on that connection, so what it records commits or rolls back
        together with the change it describes.
        """
        ...
