"""Preview equals run, and the books check: `flask qbo plan` lists what the next run does (and
writes nothing); the run then journals exactly those operations; `flask qbo reconcile`
compares every customer's balance, CRM against QuickBooks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import DocKind, RunStatus, SyncDocument, SyncRun

from crm.models import MarketSegment, Receipt, Sale, SaleLine, db
from tests.engine.books import check_books
from tests.engine.conftest import books, connect, work


def _roofing() -> list[Sale]:
    seg = db.session.scalar(sa.select(MarketSegment).filter_by(name="Roofing"))
    assert seg is not None
    return list(
        db.session.scalars(sa.select(Sale).filter_by(market_segment_id=seg.id).order_by(Sale.id))
    )


def _generations() -> dict[tuple[str, str], tuple[int, bool]]:
    return {
        (d.kind.value, d.local_id): (d.generation, d.live)
        for d in db.session.scalars(sa.select(SyncDocument))
    }


def _plan(app: Flask) -> list[dict[str, str]]:
    result = app.test_cli_runner().invoke(args=["qbo", "plan", "--segment", "Roofing", "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def _edit_the_crm() -> None:
    sales = [s for s in _roofing() if s.status == "sold"]
    edited = next(s for s in sales if not s.receipts)
    edited.lines[0].quantity += 1
    # a sale paid by a receipt (not only adjusted): cancelled, its payment is voided
    cancelled = next(
        s for s in sales if s is not edited and any(r.kind == "receipt" for r in s.receipts)
    )
    cancelled.status = "cancelled"
    paid = next(
        s
        for s in sales
        if s not in (edited, cancelled) and any(r.kind == "receipt" for r in s.receipts)
    )
    receipt = next(r for r in paid.receipts if r.kind == "receipt")
    receipt.kind = "adjustment"  # re-classified: the payment goes, a credit memo comes
    first = sales[0]
    db.session.add(
        Sale(
            number="S-NEW-1",
            customer_id=first.customer_id,
            market_segment_id=first.market_segment_id,
            sold_on=date(2026, 11, 20),
            lines=[
                SaleLine(
                    product_id=first.lines[0].product_id,
                    quantity=Decimal(2),
                    unit_price=Decimal("125.00"),
                )
            ],
        )
    )
    db.session.commit()


def test_the_run_does_exactly_what_the_preview_listed(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    first = _plan(crm)
    assert first and all(p["operation"] == "create" for p in first)
    assert books(emulator, "Company A").writes() == 0, "a preview wrote to QuickBooks"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncDocument)) == 0

    start_sync(profile)
    work()
    db.session.expire_all()
    assert _plan(crm) == [], "nothing is left to do after a run"

    _edit_the_crm()
    planned = _plan(crm)
    kinds = Counter((p["operation"], p["document"]) for p in planned)
    assert kinds[("update", "invoice")] >= 1
    assert kinds[("void", "invoice")] == 1
    assert kinds[("void", "payment")] >= 2  # the cancelled sale's and the re-classified one
    assert kinds[("create", "credit_memo")] == 1
    assert kinds[("create", "invoice")] == 1
    before = _generations()
    start_sync(profile)
    work()
    db.session.expire_all()
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None and run.status is RunStatus.SUCCEEDED, run.message if run else None
    after = _generations()
    did = Counter({key: gen - before.get(key, (0, False))[0] for key, (gen, _) in after.items()})
    listed = Counter((p["document"], p["local_id"]) for p in planned)
    assert +did == listed, "the run journaled other operations than the preview listed"
    for p in planned:
        live = after[(p["document"], p["local_id"])][1]
        assert live is (p["operation"] in ("create", "update")), p
    check_books(emulator, "Company A", _roofing())


def test_the_books_check_compares_every_customers_balance(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    start_sync(profile)
    work()
    runner = crm.test_cli_runner()
    realm = emulator.realm_ids["Company A"]
    before = int(emulator.stats(realm)["reads"])
    agreed = runner.invoke(args=["qbo", "reconcile", "--segment", "Roofing"])
    assert agreed.exit_code == 0, agreed.output
    assert "agree with the CRM" in agreed.output
    # One read per 1,000 customers and nothing more: the balances of its few dozen customers.
    assert int(emulator.stats(realm)["reads"]) - before == 1

    # The bookkeeper records a payment by hand in QuickBooks: that customer's books differ.
    sale = next(s for s in _roofing() if s.status == "sold" and s.balance_due > 50)
    doc = db.session.scalar(
        sa.select(SyncDocument).filter_by(kind=DocKind.INVOICE, local_id=str(sale.id))
    )
    customer = db.session.scalar(
        sa.select(SyncDocument).filter_by(kind=DocKind.CUSTOMER, local_id=str(sale.customer_id))
    )
    assert doc is not None and customer is not None
    books(emulator, "Company A").create(
        "Payment",
        {
            "CustomerRef": {"value": customer.qbo_id},
            "TotalAmt": "50.00",
            "Line": [
                {"Amount": "50.00", "LinkedTxn": [{"TxnId": doc.qbo_id, "TxnType": "Invoice"}]}
            ],
        },
    )
    differs = runner.invoke(args=["qbo", "reconcile", "--segment", "Roofing"])
    assert differs.exit_code == 1, differs.output
    owed = sum((s.balance_due for s in _roofing() if s.customer_id == sale.customer_id), Decimal(0))
    assert "1 difference(s)" in differs.output
    assert f"the CRM {owed:,.2f}" in differs.output
    assert f"QuickBooks shows {owed - 50:,.2f} owed by {sale.customer.full_name}" in differs.output
    assert not db.session.scalars(sa.select(Receipt).filter_by(amount=Decimal("50.00"))).first()
