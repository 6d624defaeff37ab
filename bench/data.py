"""A CRM of exact size for the benchmark: bulk inserts, Decimal money, 1 to 5 lines per sale.

Sales go round-robin over the customers (every customer has one), receipts and adjustments
round-robin over the sales; an adjustment is a positive amount (QuickBooks: a credit memo).
Each customer belongs to one market segment, and so do its sales."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

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
from crm.seed import PRODUCTS, SEGMENTS

TODAY = date(2026, 11, 26)
CHUNK = 5000


@dataclass(frozen=True)
class Shape:
    customers: int
    sales: int
    receipts: int
    adjustments: int
    segments: int = 1  # customers spread over the first N of the CRM's segments

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def scaled(self, factor: float) -> Shape:
        def n(x: int) -> int:
            return max(1, round(x * factor)) if x else 0

        return Shape(
            n(self.customers), n(self.sales), n(self.receipts), n(self.adjustments), self.segments
        )


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[start : start + CHUNK])


def generate(shape: Shape, seed: int = 7) -> dict[str, int]:
    """Insert `shape` into the empty CRM of the current app; returns what was inserted."""
    if shape.sales < shape.customers:
        raise ValueError("every customer needs a sale: sales >= customers")
    rng = random.Random(seed)
    segment_ids = list(range(1, len(SEGMENTS) + 1))
    _insert(
        MarketSegment, [{"id": i, "name": n} for i, n in zip(segment_ids, SEGMENTS, strict=True)]
    )
    prices = {i: Decimal(p[2]) for i, p in enumerate(PRODUCTS, start=1)}
    _insert(
        Product,
        [
            {"id": i, "name": n, "sku": s, "unit_price": prices[i]}
            for i, (n, s, _) in enumerate(PRODUCTS, start=1)
        ],
    )
    customers = [
        {
            "id": cid,
            "first_name": f"Bench{cid}",
            "last_name": f"Customer{cid % 97}",
            "email": f"bench{cid}@example.com",
            "phone": f"(614) {200 + cid % 700:03d}-{cid % 10000:04d}",
            "street": f"{cid} Main Street",
            "city": "Columbus",
            "state": "OH",
            "postal_code": "43215",
        }
        for cid in range(1, shape.customers + 1)
    ]
    _insert(Customer, customers)
    sales: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    amounts: dict[int, Decimal] = {}
    for sid in range(1, shape.sales + 1):
        cid = (sid - 1) % shape.customers + 1
        segment = segment_ids[(cid - 1) % shape.segments]
        sales.append(
            {
                "id": sid,
                "number": f"B{sid}",
                "customer_id": cid,
                "market_segment_id": segment,
                "sold_on": TODAY - timedelta(days=rng.randint(30, 700)),
                "status": "sold",
            }
        )
        amount = Decimal("0.00")
        for pid in rng.sample(range(1, len(PRODUCTS) + 1), rng.randint(1, 5)):
            qty = Decimal(rng.choice((1, 1, 2, 3, 4, 10)))
            lines.append(
                {
                    "id": len(lines) + 1,
                    "sale_id": sid,
                    "product_id": pid,
                    "description": PRODUCTS[pid - 1][0],
                    "quantity": qty,
                    "unit_price": prices[pid],
                }
            )
            amount += (qty * prices[pid]).quantize(CENT)
        amounts[sid] = amount
    _insert(Sale, sales)
    _insert(SaleLine, lines)
    receipts: list[dict[str, Any]] = []
    owed = dict(amounts)
    total = shape.receipts + shape.adjustments
    chosen = set(rng.sample(range(total), shape.adjustments))
    for n in range(total):
        sid = n % shape.sales + 1
        adjustment = n in chosen
        rid = len(receipts) + 1
        sale = sales[sid - 1]
        if adjustment:
            amount = (amounts[sid] * Decimal("0.05")).quantize(CENT)
        else:
            amount = max(Decimal("1.00"), (owed[sid] * Decimal("0.4")).quantize(CENT))
        owed[sid] -= amount
        receipts.append(
            {
                "id": rid,
                "number": f"BR{rid}",
                "kind": "adjustment" if adjustment else "receipt",
                "customer_id": sale["customer_id"],
                "sale_id": sid,
                "received_on": sale["sold_on"] + timedelta(days=rng.randint(0, 20)),
                "payment_method": None if adjustment else rng.choice(PAYMENT_METHODS),
                "amount": amount,
            }
        )
    _insert(Receipt, receipts)
    db.session.commit()
    kinds = [r["kind"] for r in receipts]
    return {
        "customers": len(customers),
        "sales": len(sales),
        "lines": len(lines),
        "receipts": kinds.count("receipt"),
        "adjustments": kinds.count("adjustment"),
    }
