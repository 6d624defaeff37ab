"""Demo data: deterministic, realistic, and shaped like a contractor's real books."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from crm.seed import seed

TODAY = date(2026, 11, 26)


def _snapshot() -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for model in (Customer, Sale, SaleLine, Receipt):
        cols = [c for c in model.__table__.c if c.name not in ("created_at", "updated_at")]
        rows += [tuple(r) for r in db.session.execute(sa.select(*cols).order_by(model.id))]
    return rows


def test_seed_is_realistic(app_ctx: Flask) -> None:
    counts = seed(customers=300, seed_value=7, today=TODAY)
    assert counts.customers == 300
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MarketSegment)) >= 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) >= 20

    sales = db.session.scalars(sa.select(Sale)).all()
    assert len(sales) == counts.sales > 300
    assert all(1 <= len(s.lines) <= 5 for s in sales)
    assert all(TODAY - timedelta(days=731) <= s.sold_on <= TODAY for s in sales)
    assert {s.status for s in sales} == {"sold", "cancelled"}
    states = Counter(
        "paid" if s.balance_due == 0 else "partly" if s.applied else "open"
        for s in sales
        if s.status == "sold"
    )
    assert states["paid"] > 20 and states["partly"] > 20 and states["open"] > 20, states
    kinds = Counter(r.kind for r in db.session.scalars(sa.select(Receipt)))
    assert kinds["receipt"] == counts.receipts and kinds["adjustment"] == counts.adjustments > 0
    for s in sales:  # nothing is overpaid, and every receipt is for the sale's own customer
        assert s.balance_due >= 0
        assert all(
            r.customer_id == s.customer_id and r.received_on >= s.sold_on for r in s.receipts
        )
    c = db.session.get(Customer, 1)
    assert c is not None and c.email and c.phone and c.street and c.postal_code
    assert c.balance_due == sum((s.balance_due for s in c.sales), Decimal("0.00"))


def test_seed_is_deterministic(app: Flask) -> None:
    snapshots = []
    for _ in range(2):
        with app.app_context():
            seed(customers=60, seed_value=3, today=TODAY)
            snapshots.append(_snapshot())
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
    assert snapshots[0] == snapshots[1]


def test_seed_refuses_a_crm_that_has_data(app_ctx: Flask) -> None:
    seed(customers=5, seed_value=1, today=TODAY)
    with pytest.raises(ValueError, match="already holds customers"):
        seed(customers=5, seed_value=1, today=TODAY)


def test_seed_command_and_user_command(app_ctx: Flask) -> None:
    runner = app_ctx.test_cli_runner()
    result: Result = runner.invoke(
        args=["demo", "seed", "--customers", "25", "--seed", "2", "--today", "2026-11-26"]
    )
    assert result.exit_code == 0, result.output
    assert "Seeded 25 customers" in result.output
    result = runner.invoke(args=["users", "create", "bookkeeper"], input="s3cret-pw\ns3cret-pw\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["users", "create", "bookkeeper"], input="x\nx\n")
    assert again.exit_code != 0 and "already exists" in again.output
