"""The host's side of the plugin contract: reads CRM rows as qbo_sync records, reports changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from qbo_sync.source import (
    ChangeEvent,
    ChangeListener,
    ChangeOp,
    CustomerRecord,
    ReceiptRecord,
    RecordKind,
    SaleLineRecord,
    SaleRecord,
    Scope,
    SegmentRecord,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db

UrlFor = Callable[[str, int], str | None]


def _ids(values: Iterable[str]) -> list[int]:
    return sorted({int(v) for v in values})


def _rows_in_chunks(ids: Iterable[str], query: Callable[[list[int]], Any]) -> Iterator[Any]:
    """Plain rows (column selects, no ORM objects) for many ids, 500 ids per query, each chunk
    in its own short session."""
    values = _ids(ids)
    for start in range(0, len(values), 500):
        with Session(db.engine) as session:
            rows = session.execute(query(values[start : start + 500])).all()
        yield from rows


class CRMSourceAdapter:
    """Streams CRM rows in chunks as plain records; never loads a whole table."""

    def __init__(self, url_for: UrlFor | None = None) -> None:
        self._url_for = url_for or (lambda kind, id_: None)
        self._listeners: list[ChangeListener] = []

    def segments(self) -> list[SegmentRecord]:
        rows = db.session.scalars(sa.select(MarketSegment).order_by(MarketSegment.name))
        return [SegmentRecord(key=str(s.id), name=s.name) for s in rows]

    @staticmethod
    def _in_scope(
        query: sa.Select[Any],
        segment_key: str | None,
        sold_after: date | None,
        sale_ids: Sequence[str] | None,
    ) -> sa.Select[Any]:
        if segment_key is not None:
            query = query.where(Sale.market_segment_id == int(segment_key))
        if sold_after is not None:
            query = query.where(Sale.sold_on >= sold_after)
        if sale_ids is not None:
            query = query.where(Sale.id.in_(_ids(sale_ids)))
        return query

    def scope(
        self,
        segment_key: str | None,
        sold_after: date | None,
        sale_ids: Sequence[str] | None = None,
    ) -> Scope:
        with Session(db.engine) as session:
            sales = session.execute(
                self._in_scope(
                    sa.select(Sale.id, Sale.customer_id), segment_key, sold_after, sale_ids
                ).order_by(Sale.id)
            ).all()
            names = session.scalars(
                self._in_scope(
                    sa.select(Product.name)
                    .join(SaleLine, SaleLine.product_id == Product.id)
                    .join(Sale, Sale.id == SaleLine.sale_id)
                    .where(Sale.status != "cancelled"),
                    segment_key,
                    sold_after,
                    sale_ids,
                )
                .distinct()
                .order_by(Product.name)
            ).all()
        customers = sorted({c for _, c in sales})
        return Scope(
            sale_ids=[str(s) for s, _ in sales],
            customer_ids=[str(c) for c in customers],
            product_names=list(names),
        )

    def iter_sales(
        self,
        segment_key: str | None,
        sold_after: date | None,
        sale_ids: Sequence[str] | None = None,
        chunk_size: int = 500,
        with_lines: bool = True,
    ) -> Iterator[SaleRecord]:
        """Sales in id order, `chunk_size` per query, read as plain rows (no ORM objects: a
        run reads every sale it maintains, each time)."""
        query = self._in_scope(
            sa.select(
                Sale.id,
                Sale.number,
                Sale.customer_id,
                Sale.market_segment_id,
                Sale.sold_on,
                Sale.status,
                Sale.updated_at,
            ),
            segment_key,
            sold_after,
            sale_ids,
        )
        last_id = 0
        while True:
            with Session(db.engine) as session:  # one short session per chunk: memory stays flat
                rows = session.execute(
                    query.where(Sale.id > last_id).order_by(Sale.id).limit(chunk_size)
                ).all()
                lines = self._lines(session, [r.id for r in rows]) if with_lines else {}
            yield from (
                SaleRecord(
                    id=str(r.id),
                    number=r.number,
                    customer_id=str(r.customer_id),
                    segment_key=None if r.market_segment_id is None else str(r.market_segment_id),
                    sold_on=r.sold_on,
                    status=r.status,
                    lines=tuple(lines.get(r.id, ())),
                    updated_at=r.updated_at,
                )
                for r in rows
            )
            if len(rows) < chunk_size:
                return
            last_id = int(rows[-1].id)

    @staticmethod
    def _lines(session: Session, sale_ids: list[int]) -> dict[int, list[SaleLineRecord]]:
        found: dict[int, list[SaleLineRecord]] = {}
        if not sale_ids:
            return found
        rows = session.execute(
            sa.select(
                SaleLine.sale_id,
                SaleLine.product_id,
                Product.name,
                SaleLine.description,
                SaleLine.quantity,
                SaleLine.unit_price,
            )
            .join(Product, Product.id == SaleLine.product_id)
            .where(SaleLine.sale_id.in_(sale_ids))
            .order_by(SaleLine.sale_id, SaleLine.id)
        )
        for sale_id, product_id, name, description, quantity, unit_price in rows:
            found.setdefault(sale_id, []).append(
                SaleLineRecord(
                    product_id=str(product_id),
                    product_name=name,
                    description=description,
                    quantity=quantity,
                    unit_price=unit_price,
                )
            )
        return found

    def customers(self, ids: Iterable[str]) -> Iterator[CustomerRecord]:
        for c in _rows_in_chunks(
            ids,
            lambda chunk: (
                sa.select(
                    Customer.id,
                    Customer.first_name,
                    Customer.last_name,
                    Customer.company_name,
                    Customer.email,
                    Customer.phone,
                    Customer.alt_phone,
                    Customer.street,
                    Customer.city,
                    Customer.state,
                    Customer.postal_code,
                )
                .where(Customer.id.in_(chunk))
                .order_by(Customer.id)
            ),
        ):
            yield CustomerRecord(
                id=str(c.id),
                first_name=c.first_name,
                last_name=c.last_name,
                company_name=c.company_name,
                email=c.email,
                phone=c.phone,
                alt_phone=c.alt_phone,
                street=c.street,
                city=c.city,
                state=c.state,
                postal_code=c.postal_code,
            )

    def receipts_for_sales(self, sale_ids: Iterable[str]) -> Iterator[ReceiptRecord]:
        for r in _rows_in_chunks(
            sale_ids,
            lambda chunk: (
                sa.select(
                    Receipt.id,
                    Receipt.number,
                    Receipt.kind,
                    Receipt.customer_id,
                    Receipt.sale_id,
                    Receipt.received_on,
                    Receipt.payment_method,
                    Receipt.amount,
                )
                .where(Receipt.sale_id.in_(chunk))
                .order_by(Receipt.received_on, Receipt.id)
            ),
        ):
            yield ReceiptRecord(
                id=str(r.id),
                number=r.number,
                kind=r.kind,
                customer_id=str(r.customer_id),
                sale_id=str(r.sale_id),
                received_on=r.received_on,
                payment_method=r.payment_method,
                amount=r.amount,
            )

    def sales_of(self, kind: RecordKind, local_ids: Iterable[str]) -> list[str]:
        ids = _ids(local_ids)
        column = {
            RecordKind.SALE: Sale.id,
            RecordKind.CUSTOMER: Sale.customer_id,
        }.get(RecordKind(kind))
        with Session(db.engine) as session:
            if column is not None:
                query = sa.select(Sale.id).where(column.in_(ids))
            elif kind in (RecordKind.RECEIPT, RecordKind.ADJUSTMENT):
                query = sa.select(Receipt.sale_id).where(Receipt.id.in_(ids))
            else:  # a product: the sales with a line of it
                query = sa.select(SaleLine.sale_id).where(SaleLine.product_id.in_(ids))
            return sorted({str(v) for v in session.scalars(query.distinct())}, key=int)

    def record_url(self, kind: RecordKind, local_id: str) -> str | None:
        return self._url_for(str(kind), int(local_id))

    def record_labels(self, kind: RecordKind, ids: Sequence[str]) -> dict[str, str]:
        wanted = _ids(i for i in ids if str(i).isdigit())
        if not wanted:
            return {}
        kind = RecordKind(kind)
        with Session(db.engine) as session:
            if kind is RecordKind.SALE:
                sales = session.execute(
                    sa.select(Sale.id, Sale.number, Customer.first_name, Customer.last_name)
                    .join(Customer, Customer.id == Sale.customer_id)
                    .where(Sale.id.in_(wanted))
                )
                return {
                    str(r.id): f"Sale {r.number} ({f'{r.first_name} {r.last_name}'.strip()})"
                    for r in sales
                }
            if kind in (RecordKind.RECEIPT, RecordKind.ADJUSTMENT):
                receipts = session.execute(
                    sa.select(Receipt.id, Receipt.number, Receipt.kind).where(
                        Receipt.id.in_(wanted)
                    )
                )
                return {str(r.id): f"{str(r.kind).title()} {r.number}" for r in receipts}
            if kind is RecordKind.CUSTOMER:
                people = session.execute(
                    sa.select(Customer.id, Customer.first_name, Customer.last_name).where(
                        Customer.id.in_(wanted)
                    )
                )
                return {
                    str(r.id): f"Customer {f'{r.first_name} {r.last_name}'.strip()}" for r in people
                }
            products = session.execute(
                sa.select(Product.id, Product.name).where(Product.id.in_(wanted))
            )
            return {str(r.id): f"Product {r.name}" for r in products}

    def init_app(self, app: Flask) -> None:
        app.extensions["crm_source"] = self

    def watch(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def dispatch(self, session: Session) -> None:
        if not self._listeners:
            return
        events = list(_changes(session))
        if events:
            for listener in self._listeners:
                listener(session.connection(), events)


@event.listens_for(db.session, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    """One hook for the shared session; it reports to the adapter of the app in use."""
    if has_app_context():
        adapter = current_app.extensions.get("crm_source")
        if adapter is not None:
            adapter.dispatch(session)


def _changes(session: Session) -> Iterator[ChangeEvent]:
    """What a flush changed, in the plugin's words (a line change is a change of its sale)."""
    touched: list[tuple[Any, ChangeOp]] = [(o, ChangeOp.INSERT) for o in session.new]
    touched += [(o, ChangeOp.DELETE) for o in session.deleted]
    touched += [(o, ChangeOp.UPDATE) for o in session.dirty if session.is_modified(o)]
    seen: set[tuple[RecordKind, str, ChangeOp]] = set()
    for obj, op in touched:
        for kind, local_id, kind_op, related in _describe(obj, op):
            if local_id != "None" and (kind, local_id, kind_op) not in seen:
                seen.add((kind, local_id, kind_op))
                yield ChangeEvent(kind, local_id, kind_op, related)


def _describe(
    obj: Any, op: ChangeOp
) -> Iterator[tuple[RecordKind, str, ChangeOp, tuple[tuple[RecordKind, str], ...]]]:
    if isinstance(obj, Customer):
        yield RecordKind.CUSTOMER, str(obj.id), op, ()
    elif isinstance(obj, Product):
        yield RecordKind.PRODUCT, str(obj.id), op, ()
    elif isinstance(obj, Sale):
        yield RecordKind.SALE, str(obj.id), op, ((RecordKind.CUSTOMER, str(obj.customer_id)),)
    elif isinstance(obj, SaleLine):
        yield RecordKind.SALE, str(obj.sale_id), ChangeOp.UPDATE, ()
    elif isinstance(obj, Receipt):
        kind = RecordKind.ADJUSTMENT if obj.kind == "adjustment" else RecordKind.RECEIPT
        yield kind, str(obj.id), op, ((RecordKind.SALE, str(obj.sale_id)),)
