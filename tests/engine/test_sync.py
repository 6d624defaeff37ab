"""A seeded CRM synchronized into two companies: exactly once, to the cent, in scope only."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync, start_sync_all
from qbo_sync.models import RunStatus, SyncRun
from qbo_sync.profiles import update_settings

from crm.models import Customer, MarketSegment, Receipt, Sale, db
from tests.conftest import csrf_token
from tests.engine.conftest import books, connect, money, voided, work


def _segment(name: str) -> MarketSegment:
    seg = db.session.scalar(sa.select(MarketSegment).filter_by(name=name))
    assert seg is not None
    return seg


def _in_scope(segment: str, after: date | None = None) -> list[Sale]:
    q = sa.select(Sale).where(Sale.market_segment_id == _segment(segment).id)
    if after:
        q = q.where(Sale.sold_on >= after)
    return list(db.session.scalars(q))


def _check_company(emu: EmulatorProcess, company: str, sales: list[Sale]) -> None:
    qbo = books(emu, company)
    live = [s for s in sales if s.status == "sold"]
    invoices = [i for i in qbo.all("Invoice") if not voided(i)]
    by_number = {i["DocNumber"]: i for i in invoices}
    assert sorted(by_number) == sorted(s.number for s in live)
    assert len(invoices) == len(live), "an invoice exists twice"
    for sale in live:
        inv = by_number[sale.number]
        assert money(inv["TotalAmt"]) == sale.amount, sale.number
        assert inv["TxnDate"] == sale.sold_on.isoformat()
        lines = [ln for ln in inv["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
        assert [(money(ln["Amount"]), money(ln["SalesItemLineDetail"]["Qty"])) for ln in lines] == [
            (line.amount, money(line.quantity)) for line in sale.lines
        ]
        assert money(inv["Balance"]) == sale.balance_due, sale.number

    customers = qbo.all("Customer")
    wanted = {s.customer_id for s in sales}
    assert len(customers) == len(wanted), "a customer is missing or exists twice"
    names = Counter(c["DisplayName"] for c in customers)
    assert max(names.values()) == 1
    balances = {c["DisplayName"]: money(c["Balance"]) for c in customers}
    for cid in wanted:
        cust = db.session.get(Customer, cid)
        assert cust is not None
        owed = sum((s.balance_due for s in live if s.customer_id == cid), Decimal("0.00"))
        matching = [b for n, b in balances.items() if n.startswith(cust.full_name)]
        assert owed in matching, (cust.full_name, owed, matching)

    receipts = [r for s in live for r in s.receipts if r.kind == "receipt"]
    payments = [p for p in qbo.all("Payment") if money(p["TotalAmt"]) > 0 and not voided(p)]
    assert sorted(p["PaymentRefNum"] for p in payments) == sorted(r.number for r in receipts)
    assert sum(money(p["TotalAmt"]) for p in payments) == sum(r.amount for r in receipts)


def test_sync_all_pushes_each_segment_into_its_company_exactly_once(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    connect(emulator, "Roofing", "Company A")
    siding = connect(emulator, "Siding", "Company B")
    update_settings(db.session, siding, sync_after=date(2026, 1, 1))

    started = start_sync_all()
    assert [new for _, new in started] == [True, True]
    work()

    runs = db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id)).all()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED], [
        r.message for r in runs
    ]
    assert [p.phase.value for p in runs[0].phases] == ["customers", "items", "sales", "receipts"]
    # No read per record: accounts, preferences, items and payment methods once a run, the
    # read-back of what was written, then at most 1 read per 20 records.
    for run in runs:
        assert run.stats is not None and run.stats["throttled"] == 0
        records = sum(p.created + p.updated + p.unchanged for p in run.phases)
        assert run.stats["reads"] <= 5 + 0.05 * records, (run.stats, records)
        assert run.stats["writes"] < records / 3, (run.stats, records)  # batched
    assert all(p.started_at <= p.ended_at for p in runs[0].phases)

    _check_company(emulator, "Company A", _in_scope("Roofing"))
    _check_company(emulator, "Company B", _in_scope("Siding", date(2026, 1, 1)))
    # nothing of another segment, nor from before "Sync Data After", crossed over
    numbers_b = {i["DocNumber"] for i in books(emulator, "Company B").all("Invoice")}
    assert not numbers_b & {s.number for s in _in_scope("Roofing")}
    assert not numbers_b & {s.number for s in _in_scope("Siding") if s.sold_on < date(2026, 1, 1)}


def test_a_second_run_writes_nothing_and_changes_propagate(
    crm: Flask, emulator: EmulatorProcess
) -> None:
    profile = connect(emulator, "Roofing", "Company A")
    start_sync(profile)
    work()
    qbo = books(emulator, "Company A")
    writes = qbo.writes()
    assert writes > 0

    run, new = start_sync(profile)
    assert new
    work()
    assert qbo.writes() == writes, "a run with nothing changed wrote to QuickBooks"
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED
    assert sum(p.created + p.updated for p in run.phases) == 0
    assert run.stats is not None
    assert (run.stats["writes"], run.stats["reads"]) == (0, 2)  # accounts and preferences

    sales = [s for s in _in_scope("Roofing") if s.status == "sold"]
    edited = next(s for s in sales if not s.receipts)
    edited.lines[0].quantity += 1
    cancelled = next(s for s in sales if any(r.kind == "receipt" for r in s.receipts))
    cancelled.status = "cancelled"
    paid = next(
        s
        for s in sales
        if s not in (edited, cancelled) and any(r.kind == "receipt" for r in s.receipts)
    )
    dropped = next(r for r in paid.receipts if r.kind == "receipt")
    dropped_number = dropped.number
    db.session.delete(dropped)
    db.session.commit()

    start_sync(profile)
    work()
    db.session.expire_all()
    _check_company(emulator, "Company A", _in_scope("Roofing"))
    invoices = {i["DocNumber"]: i for i in qbo.all("Invoice")}
    assert money(invoices[edited.number]["TotalAmt"]) == edited.amount
    assert voided(invoices[cancelled.number])
    assert money(invoices[cancelled.number]["Balance"]) == 0
    for number in [r.number for r in cancelled.receipts if r.kind == "receipt"]:
        (payment,) = [p for p in qbo.all("Payment") if p.get("PaymentRefNum") == number]
        assert voided(payment) and money(payment["TotalAmt"]) == 0
    (gone,) = [p for p in qbo.all("Payment") if p.get("PaymentRefNum") == dropped_number]
    assert voided(gone) and money(gone["TotalAmt"]) == 0
    assert db.session.scalar(sa.select(Receipt).filter_by(number=dropped_number)) is None


def test_the_bulk_action_pushes_only_the_selected_sales(
    crm: Flask, emulator: EmulatorProcess, signed_in: FlaskClient
) -> None:
    connect(emulator, "Roofing", "Company A")
    bath = connect(emulator, "Bath Remodel", "Company B")  # connected, none of its sales picked
    sales = [s for s in _in_scope("Roofing") if s.status == "sold"]
    picked = [s for s in sales if s.receipts][:2]
    other = next(s for s in _in_scope("Siding"))  # no connected workbook takes Siding
    page = signed_in.get("/admin/sale/").get_data(as_text=True)
    assert "Push to QuickBooks Online" in page
    resp = signed_in.post(
        "/admin/sale/action/",
        data={
            "csrf_token": csrf_token(page),
            "action": "push_to_qbo",
            "rowid": [str(s.id) for s in [*picked, other]],
        },
        follow_redirects=True,
    )
    text = resp.get_data(as_text=True)
    assert "Pushing 2 sale(s) to" in text
    assert "1 selected sale(s) are in no connected workbook" in text
    assert "Pushing 0" not in text
    assert db.session.scalar(sa.select(SyncRun).filter_by(profile_id=bath.id)) is None
    work()

    qbo = books(emulator, "Company A")
    assert sorted(i["DocNumber"] for i in qbo.all("Invoice")) == sorted(s.number for s in picked)
    assert len(qbo.all("Customer")) == len({s.customer_id for s in picked})
    refs = sorted(p["PaymentRefNum"] for p in qbo.all("Payment") if money(p["TotalAmt"]) > 0)
    assert refs == sorted(r.number for s in picked for r in s.receipts if r.kind == "receipt")
    # the Sale list links each pushed sale to its invoice in QuickBooks (the emulator's page)
    ids = {i["DocNumber"]: i["Id"] for i in qbo.all("Invoice")}
    for sale in [*picked, other]:
        row = signed_in.get(f"/admin/sale/?search={sale.number}").get_data(as_text=True)
        links = re.findall(r'<a class="qbo-open small" href="([^"]+)"', row)
        if sale in picked:
            assert links == [f"{emulator.base_url}/app/{qbo.realm}/invoice/{ids[sale.number]}"]
        else:
            assert links == []
