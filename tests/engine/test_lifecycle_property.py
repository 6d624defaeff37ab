"""Random sequences of CRM edits, runs and lost replies: afterwards the books equal the CRM.

Each example starts from an empty database and a fresh emulator (new companies): Roofing goes to
Company A, Siding to Company B. A small CRM is pushed, then a few rounds follow, each a handful of
edits (create, edit, cancel, restore and delete sales, the ORM way or with one SQL statement;
add, edit, move, re-classify and delete receipts and adjustments; move sales between customers
and segments; rename customers) and a run: a plain one, one whose replies QuickBooks loses a
few times (left pending for the next round, or cleared), or one in a worker that gives up on the
first lost reply (QBO_SYNC_MAX_RETRIES=0), leaving writes unanswered. Then every fault is
cleared and each profile runs once: it succeeds, both companies' books equal the CRM
(tests/engine/books.py), and one more run writes nothing.

About 20 examples, the same ones every time (derandomized). `QBO_CHAOS_EXAMPLES=500` runs more;
`QBO_CHAOS_SHRINK=1` also shrinks a failing sequence to a minimal one (minutes, not seconds).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import RunStatus, SyncProfile, SyncRun

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, _all_tables
from tests.engine.books import check_books, writes_of_next_run
from tests.engine.conftest import connect, work
from tests.engine.test_lifecycle import _issues, _worker_env, _workers

SEGMENTS = {"Roofing": "Company A", "Siding": "Company B"}
SOLD = date(2026, 3, 2)
LOST = "lose_response_after_write"
EXAMPLES = int(os.environ.get("QBO_CHAOS_EXAMPLES") or 20)
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("QBO_CHAOS_SHRINK"):
    PHASES.append(Phase.shrink)

# --- the steps: plain data, resolved against the CRM as it is when they run ------------------

pick = st.integers(min_value=0, max_value=7)  # which sale / receipt / customer, modulo how many
amount = st.sampled_from(["40.00", "120.00", "300.00", "450.50", "800.00", "1500.00"])
quantity = st.sampled_from(["1", "2", "3"])
price = st.sampled_from(["99.99", "250.00", "400.00", "1000.00"])
segment = st.sampled_from(sorted(SEGMENTS))

edit = st.one_of(
    st.tuples(st.just("new_sale"), pick, segment, quantity, price),
    st.tuples(st.just("edit_sale"), pick, quantity, price, st.booleans()),
    st.tuples(st.just("cancel_sale"), pick),
    st.tuples(st.just("restore_sale"), pick),
    st.tuples(st.just("delete_sale"), pick, st.booleans()),
    st.tuples(st.just("move_sale_to_customer"), pick, pick),
    st.tuples(st.just("move_sale_to_other_segment"), pick),
    st.tuples(st.just("add_receipt"), pick, amount, st.sampled_from(["receipt", "+adj", "-adj"])),
    st.tuples(st.just("edit_receipt"), pick, amount, st.integers(0, 3)),
    st.tuples(st.just("move_receipt"), pick, pick),
    st.tuples(st.just("reclassify_receipt"), pick),
    st.tuples(st.just("delete_receipt"), pick, st.booleans()),
    st.tuples(st.just("rename_customer"), pick),
)
faulty = st.sampled_from(["Customer", "Invoice", "Payment", "CreditMemo", "batch", None])
run = st.one_of(
    st.just(("run",)),
    # replies lost `count` times; the faults left over are cleared or kept for the next round
    st.tuples(st.just("lossy_run"), faulty, st.integers(1, 2), segment, st.booleans()),
    # a worker without retries: the writes whose replies are lost stay unanswered
    st.tuples(st.just("unanswered_run"), faulty, st.integers(1, 3), segment),
)
rounds = st.lists(st.tuples(st.lists(edit, min_size=1, max_size=4), run), min_size=1, max_size=3)


# --- one world per example -------------------------------------------------------------------


@dataclass
class World:
    emu: EmulatorProcess
    profiles: dict[str, SyncProfile]
    counter: int = 0
    names: int = 0
    log: list[str] = field(default_factory=list)

    def number(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def realm(self, segment_name: str) -> str:
        return self.emu.realm_ids[SEGMENTS[segment_name]]


def _empty_database() -> None:
    """What the app_ctx fixture does after a test: every table emptied, the session reset."""
    db.session.rollback()
    for table in _all_tables():
        db.session.execute(table.delete())
    db.session.commit()
    db.session.remove()


def _get(model: Any, name: str) -> Any:
    return db.session.scalar(sa.select(model).filter_by(name=name))


def _line(qty: str, unit: str, product: str = "Shingles") -> SaleLine:
    return SaleLine(
        product=_get(Product, product),
        description=product,
        quantity=Decimal(qty),
        unit_price=Decimal(unit),
    )


def _sale(world: World, customer: Customer, segment_name: str, *lines: SaleLine) -> Sale:
    sale = Sale(
        number=world.number("S"),
        customer=customer,
        market_segment=_get(MarketSegment, segment_name),
        sold_on=SOLD,
        lines=list(lines),
    )
    db.session.add(sale)
    return sale


def _receipt(world: World, sale: Sale, value: str, kind: str = "receipt", day: int = 0) -> None:
    db.session.add(
        Receipt(
            number=world.number("R" if kind == "receipt" else "A"),
            kind=kind,
            customer=sale.customer,
            sale=sale,
            received_on=SOLD + timedelta(days=7 + day),
            payment_method="Check" if kind == "receipt" else None,
            amount=Decimal(value),
        )
    )


@contextmanager
def _world(emulator_port: int, tmp: Path) -> Iterator[World]:
    """An empty CRM and a new emulator (new companies), a small CRM on it, not pushed yet."""
    _empty_database()
    with EmulatorProcess(
        db_path=tmp / f"emu-{uuid.uuid4().hex}.db",
        port=emulator_port,
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        control=True,
    ) as emu:
        db.session.add_all([MarketSegment(name=name) for name in SEGMENTS])
        db.session.add_all(
            [
                Product(name="Shingles", unit_price=Decimal("100.00")),
                Product(name="Ridge Vent", unit_price=Decimal("38.20")),
            ]
        )
        customers = [
            Customer(first_name=first, last_name=last, email=f"{first.lower()}@example.com")
            for first, last in (("Ann", "Lee"), ("Bob", "Ray"), ("Cy", "Young"))
        ]
        db.session.add_all(customers)
        db.session.commit()
        profiles = {name: connect(emu, name, company) for name, company in SEGMENTS.items()}
        world = World(emu, profiles)
        first = _sale(world, customers[0], "Roofing", _line("1", "1000.00"))
        _receipt(world, first, "300.00")
        second = _sale(world, customers[1], "Siding", _line("2", "250.00"))
        _receipt(world, second, "50.00", kind="adjustment")
        third = _sale(world, customers[2], "Roofing", _line("1", "400.00"))
        _receipt(world, third, "-40.00", kind="adjustment")
        db.session.commit()
        try:
            yield world
        finally:
            _empty_database()


def _sales(*segments: str) -> list[Sale]:
    db.session.expire_all()
    query = sa.select(Sale).join(MarketSegment).where(MarketSegment.name.in_(segments))
    return list(db.session.scalars(query.order_by(Sale.id)))


def _nth(items: list[Any], index: int) -> Any | None:
    return items[index % len(items)] if items else None


def _all(model: Any) -> list[Any]:
    return list(db.session.scalars(sa.select(model).order_by(model.id)))


# --- doing a step ----------------------------------------------------------------------------


def _edit(world: World, step: tuple[Any, ...]) -> str:
    kind, *args = step
    sales: list[Sale] = _all(Sale)
    receipts: list[Receipt] = _all(Receipt)
    customers: list[Customer] = _all(Customer)
    if kind == "new_sale":
        who, seg, qty, unit = args
        sale = _sale(world, _nth(customers, who), seg, _line(qty, unit))
        db.session.commit()
        return f"new sale {sale.number} in {seg}"
    if kind in ("cancel_sale", "restore_sale"):
        wanted = "sold" if kind == "cancel_sale" else "cancelled"
        sale = _nth([s for s in sales if s.status == wanted], args[0])
        if sale is None:
            return f"{kind}: none to do"
        sale.status = "cancelled" if kind == "cancel_sale" else "sold"
        db.session.commit()
        return f"{kind} {sale.number}"
    if kind in ("add_receipt", "move_receipt") and not sales:
        return f"{kind}: no sale"
    sale = _nth(sales, args[0])
    receipt = _nth(receipts, args[0])
    if kind == "edit_sale":
        if sale is None:
            return "edit_sale: none"
        _, qty, unit, add = args
        sale.lines[0].quantity, sale.lines[0].unit_price = Decimal(qty), Decimal(unit)
        if add:
            sale.lines.append(_line("2", "38.20", "Ridge Vent"))
        elif len(sale.lines) > 1:
            sale.lines.remove(sale.lines[-1])
        db.session.commit()
        return f"edit sale {sale.number}: {qty} x {unit}, {'a line added' if add else ''}"
    if kind == "delete_sale":
        if sale is None:
            return "delete_sale: none"
        number, by_sql = sale.number, args[1]
        if by_sql:
            db.session.execute(sa.delete(Receipt).where(Receipt.sale_id == sale.id))
            db.session.execute(sa.delete(SaleLine).where(SaleLine.sale_id == sale.id))
            db.session.execute(sa.delete(Sale).where(Sale.id == sale.id))
        else:
            for r in list(sale.receipts):
                db.session.delete(r)
            db.session.delete(sale)
        db.session.commit()
        return f"delete sale {number} {'by SQL' if by_sql else 'through the ORM'}"
    if kind == "move_sale_to_customer":
        if sale is None:
            return "move_sale_to_customer: none"
        customer = _nth(customers, args[1])
        sale.customer = customer
        for r in sale.receipts:
            r.customer = customer
        db.session.commit()
        return f"move sale {sale.number} to customer #{customer.id}"
    if kind == "move_sale_to_other_segment":
        if sale is None:
            return "move_sale_to_other_segment: none"
        other = "Siding" if sale.market_segment.name == "Roofing" else "Roofing"
        sale.market_segment = _get(MarketSegment, other)
        db.session.commit()
        return f"move sale {sale.number} to {other}"
    if kind == "add_receipt":
        _, value, what = args
        if what == "receipt":
            _receipt(world, sale, value)
        else:
            _receipt(world, sale, value if what == "+adj" else f"-{value}", "adjustment")
        db.session.commit()
        return f"add {what} {value} to {sale.number}"
    if receipt is None:
        return f"{kind}: no receipt"
    if kind == "edit_receipt":
        value, day = args[1], args[2]
        sign = -1 if receipt.kind == "adjustment" and receipt.amount < 0 else 1
        receipt.amount = Decimal(value) * sign
        receipt.received_on = SOLD + timedelta(days=7 + day)
        db.session.commit()
        return f"edit {receipt.number}: {receipt.amount} on {receipt.received_on}"
    if kind == "move_receipt":
        target = _nth(sales, args[1])
        receipt.sale, receipt.customer = target, target.customer
        db.session.commit()
        return f"move {receipt.number} to {target.number}"
    if kind == "reclassify_receipt":
        if receipt.kind == "receipt":
            receipt.kind, receipt.payment_method = "adjustment", None
        else:
            receipt.kind, receipt.payment_method = "receipt", "Check"
            receipt.amount = abs(receipt.amount)
        db.session.commit()
        return f"{receipt.number} is now a {receipt.kind}"
    if kind == "delete_receipt":
        number = receipt.number
        if args[1]:
            db.session.execute(sa.delete(Receipt).where(Receipt.id == receipt.id))
        else:
            db.session.delete(receipt)
        db.session.commit()
        return f"delete {number} {'by SQL' if args[1] else 'through the ORM'}"
    if kind == "rename_customer":
        customer = _nth(customers, args[0])
        world.names += 1
        customer.last_name = f"{customer.last_name.split('-')[0]}-{world.names}"
        db.session.commit()
        return f"rename customer #{customer.id} to {customer.full_name}"
    raise AssertionError(f"unknown step {kind}")


def _start_all(world: World) -> None:
    for profile in world.profiles.values():
        start_sync(profile)


def _worker_without_retries(emulator_port: int) -> None:
    """The queued runs, in a worker that gives up on the first lost reply."""
    env = _worker_env(current_app, emulator_port, QBO_SYNC_MAX_RETRIES="0")
    _workers(env)


def _run(world: World, step: tuple[Any, ...]) -> str:
    kind, *args = step
    if kind == "run":
        _start_all(world)
        work()
        return "run"
    entity, count, seg = args[0], args[1], args[2]
    world.emu.inject(world.realm(seg), LOST, count=count, entity=entity)
    _start_all(world)
    if kind == "lossy_run":
        work()
        if args[3]:
            world.emu.clear_faults(world.realm(seg))
        kept = "cleared after" if args[3] else "kept for the next round"
        return f"run losing {count} {entity or 'write'} repl(ies) in {seg}, {kept}"
    _worker_without_retries(world.emu.port)
    world.emu.clear_faults(world.realm(seg))
    return f"run without retries losing {count} {entity or 'write'} repl(ies) in {seg}"


def _settle(world: World) -> None:
    """Faults cleared, each profile runs once: it succeeds, and the books equal the CRM."""
    for name in SEGMENTS:
        world.emu.clear_faults(world.realm(name))
    for profile in world.profiles.values():
        _, new = start_sync(profile)
        assert new, "a run was still queued or running"
        work()
        run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
        assert run is not None
        db.session.refresh(run)
        assert run.status is RunStatus.SUCCEEDED, f"{run.message}\n{_issues()}"
    for name, company in SEGMENTS.items():
        check_books(world.emu, company, _sales(name))
    for name, company in SEGMENTS.items():
        writes = writes_of_next_run(world.emu, company, world.profiles[name])
        assert writes == 0, f"a run of {name} with nothing changed wrote {writes} time(s)"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=rounds)
def test_random_edits_runs_and_lost_replies_leave_the_books_equal_to_the_crm(
    app_ctx: Flask, emulator_port: int, tmp_path: Path, story: list[Any]
) -> None:
    with _world(emulator_port, tmp_path) as world:
        _start_all(world)
        work()
        for edits, run_step in story:
            for step in edits:
                note(_edit(world, step))
            note(_run(world, run_step))
        _settle(world)
