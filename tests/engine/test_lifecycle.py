"""The books follow every edit made after a push: one test per row of the lifecycle table.

Each test builds a small CRM, pushes it, edits it as the office would (through the ORM unless the
row says SQL), pushes again, then reads QuickBooks back (tests/engine/books.py: one live document
per CRM record, amounts and balances to the cent, nothing stray) and checks that one more run
writes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import RunStatus, SyncProfile, SyncRun
from qbo_sync.profiles import update_settings

from crm.models import Customer, MarketSegment, Product, Receipt, Sale, SaleLine, db
from tests.engine.books import Doc, check_books, writes_of_next_run
from tests.engine.conftest import books, connect, money, voided, work, worker_env

SOLD = date(2026, 3, 2)
PAID = date(2026, 3, 9)
LOST = "lose_response_after_write"
LOST_COUNT = 5  # every such write of the run loses its reply (its worker does not retry)


# --- a small CRM -----------------------------------------------------------------------------


def _segment(name: str) -> MarketSegment:
    seg = db.session.scalar(sa.select(MarketSegment).filter_by(name=name))
    if seg is None:
        seg = MarketSegment(name=name)
        db.session.add(seg)
    return seg


def _product(name: str = "Shingles") -> Product:
    product = db.session.scalar(sa.select(Product).filter_by(name=name))
    if product is None:
        product = Product(name=name, unit_price=Decimal("100.00"))
        db.session.add(product)
    return product


def _customer(first: str, last: str, **fields: str | None) -> Customer:
    customer = Customer(first_name=first, last_name=last, **fields)
    db.session.add(customer)
    return customer


def _line(qty: str, price: str, product: str = "Shingles") -> SaleLine:
    return SaleLine(
        product=_product(product),
        description=product,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
    )


def _sale(
    customer: Customer,
    number: str,
    *lines: tuple[str, str],
    segment: str = "Roofing",
    sold_on: date = SOLD,
) -> Sale:
    sale = Sale(
        number=number,
        customer=customer,
        market_segment=_segment(segment),
        sold_on=sold_on,
        lines=[_line(q, p) for q, p in (lines or [("1", "1000.00")])],
    )
    db.session.add(sale)
    return sale


def _receipt(
    sale: Sale,
    number: str,
    amount: str,
    *,
    kind: str = "receipt",
    on: date = PAID,
    method: str | None = "Check",
) -> Receipt:
    receipt = Receipt(
        number=number,
        kind=kind,
        customer=sale.customer,
        sale=sale,
        received_on=on,
        payment_method=method if kind == "receipt" else None,
        amount=Decimal(amount),
    )
    db.session.add(receipt)
    return receipt


def _sales(*segments: str) -> list[Sale]:
    """Every CRM sale of these segments, read fresh."""
    db.session.expire_all()
    query = sa.select(Sale).join(MarketSegment).where(MarketSegment.name.in_(segments))
    return list(db.session.scalars(query.order_by(Sale.id)))


def _issues() -> str:
    """What `flask qbo issues` lists: every failed or blocked record and why."""
    return str(current_app.test_cli_runner().invoke(args=["qbo", "issues"]).output)


def _last_run() -> SyncRun:
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None
    db.session.refresh(run)
    return run


def _writes_nothing(emu: EmulatorProcess, company: str, profile: SyncProfile) -> None:
    """One more run of the profile sends the company no write (says which ones when it does)."""
    realm = emu.realm_ids[company]
    before = emu.stats(realm).get("by_entity", {})
    writes = writes_of_next_run(emu, company, profile)
    after = emu.stats(realm).get("by_entity", {})
    requests = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert writes == 0, f"a run with nothing changed wrote {writes} time(s): {requests}"


def _worker_env(app: Flask, emulator_port: int, **extra: str) -> dict[str, str]:
    """The environment of a separate worker process; `extra` are raw variables."""
    return {**worker_env(app, emulator_port), **extra}


def _workers(env: dict[str, str], count: int = 1) -> None:
    """Run `count` burst workers (`flask qbo worker --burst`) side by side until they finish."""
    command = [sys.executable, "-m", "flask", "--app", "host_app", "qbo", "worker", "--burst"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        codes = [proc.wait(timeout=120) for proc in procs]
    finally:
        for proc in procs:  # only on a timeout: none is left behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert codes == [0] * count, codes


@dataclass
class Shop:
    """Roofing connected to Company A, two customers, a product; nothing pushed yet."""

    emu: EmulatorProcess
    profile: SyncProfile
    ann: Customer
    bob: Customer

    @property
    def realm(self) -> str:
        return self.emu.realm_ids["Company A"]

    def push(self, profile: SyncProfile | None = None) -> SyncRun:
        db.session.commit()
        _, new = start_sync(profile or self.profile)
        assert new, "a run was still queued or running"
        work()
        return _last_run()

    def push_losing_replies(self, entity: str) -> SyncRun:
        """A run during which every write of `entity` (alone or in a batch) is executed but its
        reply never arrives: its worker gives up on the first lost reply (no retries, so no
        backoff to wait for). The faults are cleared afterwards."""
        db.session.commit()
        for faulty in (entity, "batch"):
            self.emu.inject(self.realm, LOST, count=LOST_COUNT, entity=faulty)
        _, new = start_sync(self.profile)
        assert new, "a run was still queued or running"
        _workers(_worker_env(current_app, self.emu.port, QBO_SYNC_MAX_RETRIES="0"))
        self.emu.clear_faults(self.realm)
        db.session.expire_all()
        return _last_run()

    def ok(self, profile: SyncProfile | None = None) -> SyncRun:
        run = self.push(profile)
        assert run.status is RunStatus.SUCCEEDED, f"{run.message}\n{_issues()}"
        return run

    def settled(
        self,
        company: str = "Company A",
        segments: tuple[str, ...] = ("Roofing",),
        profile: SyncProfile | None = None,
        foreign: tuple[str, ...] = (),
    ) -> None:
        """The books equal the CRM, the books check agrees, and one more run writes nothing."""
        self.check(company, segments, foreign)
        check = current_app.test_cli_runner().invoke(args=["qbo", "reconcile"])
        assert check.exit_code == 0, check.output
        _writes_nothing(self.emu, company, profile or self.profile)

    def check(
        self,
        company: str = "Company A",
        segments: tuple[str, ...] = ("Roofing",),
        foreign: tuple[str, ...] = (),
    ) -> None:
        """The books equal the CRM."""
        check_books(self.emu, company, _sales(*segments), foreign=foreign)

    def doc(self, entity: str, field: str, value: str, company: str = "Company A") -> list[Doc]:
        """Every document (live or voided) of the entity with field = value."""
        return [d for d in books(self.emu, company).all(entity) if d.get(field) == value]

    def live(self, entity: str, field: str, value: str, company: str = "Company A") -> list[Doc]:
        """The live (not voided) documents of the entity with field = value."""
        return [d for d in self.doc(entity, field, value, company) if not voided(d)]

    def customer(self, display_name: str, company: str = "Company A") -> Doc:
        (found,) = self.doc("Customer", "DisplayName", display_name, company)
        return found


@pytest.fixture
def shop(app_ctx: Flask, emulator: EmulatorProcess) -> Shop:
    _segment("Roofing")
    _product()
    ann = _customer(
        "Ann",
        "Lee",
        email="ann@example.com",
        phone="555-0100",
        street="1 Main St",
        city="Springfield",
        state="IL",
        postal_code="62701",
    )
    bob = _customer("Bob", "Ray", email="bob@example.com", phone="555-0199")
    db.session.commit()
    return Shop(emulator, connect(emulator, "Roofing", "Company A"), ann, bob)


# --- sales -----------------------------------------------------------------------------------


def test_1_an_edited_sale_updates_its_invoice(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("2", "100.00"), ("1", "50.00"), ("4", "12.50"))
    _receipt(sale, "R1", "100.00")
    shop.ok()
    sale.lines[0].quantity = Decimal(3)  # quantity
    sale.lines[1].unit_price = Decimal("65.00")  # price
    sale.lines.remove(sale.lines[2])  # a line removed
    sale.lines.append(_line("2", "19.99", "Ridge Vent"))  # a line added
    shop.ok()
    (inv,) = shop.live("Invoice", "DocNumber", "S1")
    assert money(inv["TotalAmt"]) == Decimal("404.98")
    shop.settled()


def test_2_a_price_lowered_below_what_was_paid_leaves_the_excess_unapplied(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "800.00")
    shop.ok()
    sale.lines[0].unit_price = Decimal("500.00")
    shop.ok()
    shop.settled()
    (inv,) = shop.live("Invoice", "DocNumber", "S1")
    assert (money(inv["TotalAmt"]), money(inv["Balance"])) == (Decimal(500), Decimal(0))
    (pay,) = shop.live("Payment", "PaymentRefNum", "R1")
    assert (money(pay["TotalAmt"]), money(pay["UnappliedAmt"])) == (Decimal(800), Decimal(300))
    assert money(shop.customer("Ann Lee")["Balance"]) == Decimal("-300.00")


def test_3_a_paid_sale_moved_to_another_customer(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    receipt = _receipt(sale, "R1", "400.00")
    shop.ok()
    sale.customer = receipt.customer = shop.bob
    shop.ok()
    shop.settled()
    bob = shop.customer("Bob Ray")
    assert money(shop.customer("Ann Lee")["Balance"]) == 0
    assert money(bob["Balance"]) == Decimal("600.00")
    (pay,) = shop.live("Payment", "PaymentRefNum", "R1")
    assert pay["CustomerRef"]["value"] == bob["Id"]


def _brief(doc: Doc) -> str:
    number = doc.get("DocNumber") or doc.get("PaymentRefNum")
    state = "voided" if voided(doc) else "live"
    return f"{number} (Id {doc['Id']}, {state}, total {doc['TotalAmt']})"


def _assert_sale_gone(shop: Shop, number: str, receipts: tuple[str, ...] = ()) -> None:
    """The sale's invoice is voided, its payments voided, its credit memos gone or zero."""
    invoices = shop.doc("Invoice", "DocNumber", number)
    assert invoices, f"no invoice {number} at all"
    live = [_brief(i) for i in invoices if not voided(i) or money(i["Balance"]) != 0]
    assert not live, f"{number} should have nothing live here, but: {live}"
    for ref in receipts:
        docs = shop.doc("Payment", "PaymentRefNum", ref) + shop.doc("CreditMemo", "DocNumber", ref)
        live = [_brief(d) for d in docs if not voided(d) and money(d["TotalAmt"]) != 0]
        assert not live, f"{number} should have nothing live here, but {ref}: {live}"


def test_4_a_cancelled_sale_voids_its_invoice_payments_and_credits(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "300.00")
    _receipt(sale, "A1", "100.00", kind="adjustment")
    shop.ok()
    sale.status = "cancelled"
    shop.ok()
    _assert_sale_gone(shop, "S1", ("R1", "A1"))
    assert money(shop.customer("Ann Lee")["Balance"]) == 0
    shop.settled()


def test_5_a_cancelled_sale_restored_is_live_again(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "300.00")
    _receipt(sale, "A1", "50.00", kind="adjustment")
    shop.ok()
    sale.status = "cancelled"
    shop.ok()
    sale.status = "sold"
    shop.ok()
    # QuickBooks keeps the voided invoice and its number; exactly one S1 is live again
    assert len(shop.live("Invoice", "DocNumber", "S1")) == 1
    shop.settled()


def test_5_a_restored_sale_edited_afterwards_updates_its_new_invoice(shop: Shop) -> None:
    """The voided invoice keeps the number, so the new one is an allowed duplicate; its later
    updates carry the same number and must be allowed too (found by the chaos suite)."""
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    sale.status = "cancelled"
    shop.ok()
    sale.status = "sold"
    shop.ok()
    sale.lines[0].quantity = Decimal("3")
    _receipt(sale, "R1", "300.00")
    shop.ok()
    (inv,) = shop.live("Invoice", "DocNumber", "S1")
    assert money(inv["TotalAmt"]) == Decimal("3000.00")
    shop.settled()


def test_6_a_sale_deleted_through_the_orm_is_voided(shop: Shop) -> None:
    _sale(shop.ann, "S1", ("1", "200.00"))
    gone = _sale(shop.ann, "S2", ("1", "1000.00"))
    _receipt(gone, "R2", "300.00")
    _receipt(gone, "A2", "100.00", kind="adjustment")
    shop.ok()
    for receipt in list(gone.receipts):
        db.session.delete(receipt)
    db.session.delete(gone)  # its lines go with it (delete-orphan)
    shop.ok()
    _assert_sale_gone(shop, "S2", ("R2", "A2"))
    shop.settled()


def _delete_sale_by_sql(sale_id: int) -> None:
    db.session.execute(sa.delete(Receipt).where(Receipt.sale_id == sale_id))
    db.session.execute(sa.delete(SaleLine).where(SaleLine.sale_id == sale_id))
    db.session.execute(sa.delete(Sale).where(Sale.id == sale_id))
    db.session.commit()


def test_7_a_sale_deleted_with_one_sql_statement_is_voided(shop: Shop) -> None:
    _sale(shop.ann, "S1", ("1", "200.00"))
    gone = _sale(shop.ann, "S2", ("1", "1000.00"))
    _receipt(gone, "R2", "300.00")
    _receipt(gone, "A2", "100.00", kind="adjustment")
    shop.ok()
    _delete_sale_by_sql(gone.id)
    shop.ok()
    _assert_sale_gone(shop, "S2", ("R2", "A2"))
    shop.settled()


def test_8_a_deleted_sales_id_is_not_reused(shop: Shop) -> None:
    _sale(shop.ann, "S1", ("1", "200.00"))
    last = _sale(shop.bob, "S2", ("1", "700.00"))
    shop.ok()
    last_id = last.id
    db.session.delete(last)
    db.session.commit()
    new = _sale(shop.bob, "S3", ("1", "450.00"))
    shop.ok()
    assert len(shop.live("Invoice", "DocNumber", "S3")) == 1, "the new sale's invoice is not live"
    _assert_sale_gone(shop, "S2")
    shop.settled()
    assert new.id != last_id, "the CRM gave the deleted sale's id to a new sale"


def test_9_a_sale_moved_to_another_companys_segment(shop: Shop) -> None:
    _segment("Siding")
    db.session.commit()
    siding = connect(shop.emu, "Siding", "Company B")
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "300.00")
    _receipt(sale, "A1", "-40.00", kind="adjustment")
    _sale(shop.bob, "S2", ("1", "200.00"))
    shop.ok()
    sale.market_segment = _segment("Siding")
    shop.ok()
    shop.ok(siding)
    _assert_sale_gone(shop, "S1", ("R1",))
    check_books(shop.emu, "Company A", _sales("Roofing"))
    check_books(shop.emu, "Company B", _sales("Siding"))
    _writes_nothing(shop.emu, "Company A", shop.profile)
    _writes_nothing(shop.emu, "Company B", siding)


def _maintained_after_leaving_scope(shop: Shop, sale: Sale, *segments: str) -> None:
    """A pushed sale outside the profile's scope still gets its receipts and its cancellation;
    `segments` are those whose sales Company A holds."""
    _receipt(sale, "R1", "250.00")
    shop.ok()
    check_books(shop.emu, "Company A", _sales(*segments))
    (pay,) = shop.live("Payment", "PaymentRefNum", "R1")
    assert money(pay["TotalAmt"]) == Decimal("250.00")
    sale.status = "cancelled"
    shop.ok()
    _assert_sale_gone(shop, "S1", ("R1",))
    check_books(shop.emu, "Company A", _sales(*segments))
    _writes_nothing(shop.emu, "Company A", shop.profile)


def test_10_a_sale_moved_to_a_segment_nobody_syncs_stays_maintained(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _sale(shop.bob, "S2", ("1", "200.00"))
    shop.ok()
    sale.market_segment = _segment("Gutters")  # no profile takes Gutters
    shop.ok()
    check_books(shop.emu, "Company A", _sales("Roofing", "Gutters"))  # S1 is not abandoned
    _maintained_after_leaving_scope(shop, sale, "Roofing", "Gutters")


def test_10_sync_data_after_moved_later_keeps_pushed_sales_maintained(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"), sold_on=date(2026, 2, 1))
    _sale(shop.bob, "S2", ("1", "200.00"), sold_on=date(2026, 5, 1))
    shop.ok()
    update_settings(db.session, shop.profile, sync_after=date(2026, 4, 1))
    shop.ok()
    check_books(shop.emu, "Company A", _sales("Roofing"))  # S1 is not abandoned: still live
    _maintained_after_leaving_scope(shop, sale, "Roofing")


# --- receipts and adjustments ----------------------------------------------------------------


def test_11_a_receipt_added_then_edited(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    receipt = _receipt(sale, "R1", "300.00")
    shop.ok()
    shop.check()
    receipt.amount = Decimal("350.00")
    receipt.received_on = date(2026, 3, 20)
    receipt.payment_method = "Cash"
    shop.ok()
    shop.settled()


def test_12_a_receipt_larger_than_the_open_balance_reaches_quickbooks_whole(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "500.00"))
    _receipt(sale, "R0", "100.00")
    shop.ok()
    _receipt(sale, "R1", "800.00", on=date(2026, 3, 10))
    shop.ok()
    (pay,) = shop.live("Payment", "PaymentRefNum", "R1")
    assert (money(pay["TotalAmt"]), money(pay["UnappliedAmt"])) == (Decimal(800), Decimal(400))
    shop.settled()


def test_13_a_receipt_deleted_through_the_orm_voids_its_payment(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    gone = _receipt(sale, "R1", "300.00")
    _receipt(sale, "R2", "200.00")
    shop.ok()
    db.session.delete(gone)
    shop.ok()
    (pay,) = shop.doc("Payment", "PaymentRefNum", "R1")
    assert voided(pay), f"the receipt was deleted, its payment is live: {_brief(pay)}"
    shop.settled()


def test_13_a_receipt_deleted_with_one_sql_statement_voids_its_payment(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    gone = _receipt(sale, "R1", "300.00")
    _receipt(sale, "R2", "200.00")
    shop.ok()
    db.session.execute(sa.delete(Receipt).where(Receipt.id == gone.id))
    db.session.commit()
    shop.ok()
    (pay,) = shop.doc("Payment", "PaymentRefNum", "R1")
    assert voided(pay), f"the receipt was deleted, its payment is live: {_brief(pay)}"
    shop.settled()


def test_14_a_receipt_moved_to_another_sale_and_customer_follows(shop: Shop) -> None:
    first = _sale(shop.ann, "S1", ("1", "1000.00"))
    second = _sale(shop.ann, "S2", ("1", "600.00"))
    bobs = _sale(shop.bob, "S3", ("1", "800.00"))
    receipt = _receipt(first, "R1", "300.00")
    shop.ok()
    receipt.sale = second  # the same customer's other sale
    shop.ok()
    shop.check()
    receipt.sale, receipt.customer = bobs, shop.bob  # another customer's sale
    shop.ok()
    shop.settled()
    assert money(shop.customer("Ann Lee")["Balance"]) == Decimal("1600.00")


def test_15_a_receipt_reclassified_as_an_adjustment_and_back(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    receipt = _receipt(sale, "R1", "300.00")
    shop.ok()
    receipt.kind = "adjustment"
    shop.ok()
    shop.settled()
    (memo,) = shop.live("CreditMemo", "DocNumber", "R1")
    assert money(memo["TotalAmt"]) == Decimal("300.00")
    receipt.kind = "receipt"
    receipt.payment_method = "Check"
    shop.ok()
    shop.settled()


def test_16_a_discount_turned_surcharge_and_back(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "200.00")
    adjustment = _receipt(sale, "A1", "100.00", kind="adjustment")
    shop.ok()
    adjustment.amount = Decimal("-100.00")  # the discount becomes a surcharge
    shop.ok()
    shop.settled()
    (inv,) = shop.live("Invoice", "DocNumber", "S1")
    assert (money(inv["TotalAmt"]), money(inv["Balance"])) == (Decimal(1100), Decimal(900))
    adjustment.amount = Decimal("100.00")
    shop.ok()
    shop.settled()


def test_17_an_adjustment_lowered_raised_and_deleted(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    _receipt(sale, "R1", "500.00")
    adjustment = _receipt(sale, "A1", "200.00", kind="adjustment")
    shop.ok()
    for amount in ("150.00", "450.00"):  # lowered, then raised
        adjustment.amount = Decimal(amount)
        shop.ok()
        shop.check()
    db.session.delete(adjustment)
    shop.ok()
    shop.settled()


# --- customers -------------------------------------------------------------------------------


def test_18_customer_edits_reach_quickbooks_and_cleared_fields_are_cleared(shop: Shop) -> None:
    _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    ann = shop.ann
    ann.first_name, ann.phone, ann.email = "Anna", "555-0111", "anna@example.com"
    ann.street, ann.city = "9 Elm Rd", "Shelbyville"
    shop.ok()
    shop.check()
    qbo = shop.customer("Anna Lee")
    assert qbo["GivenName"] == "Anna"
    assert qbo["PrimaryPhone"]["FreeFormNumber"] == "555-0111"
    assert qbo["PrimaryEmailAddr"]["Address"] == "anna@example.com"
    assert (qbo["BillAddr"]["Line1"], qbo["BillAddr"]["City"]) == ("9 Elm Rd", "Shelbyville")
    ann.phone = ann.email = None
    shop.ok()
    shop.settled()
    qbo = shop.customer("Anna Lee")
    assert not (qbo.get("PrimaryPhone") or {}).get("FreeFormNumber"), qbo.get("PrimaryPhone")
    assert not (qbo.get("PrimaryEmailAddr") or {}).get("Address"), qbo.get("PrimaryEmailAddr")


def test_19_a_rename_into_a_taken_name_is_disambiguated_and_keeps_syncing(shop: Shop) -> None:
    _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    theirs = books(shop.emu, "Company A").create(
        "Customer", {"DisplayName": "Cara Diaz", "GivenName": "Cara", "FamilyName": "Diaz"}
    )
    shop.ann.first_name, shop.ann.last_name = "Cara", "Diaz"
    shop.ok()
    renamed = shop.customer(f"Cara Diaz (C-{shop.ann.id})")
    assert renamed["Id"] != theirs["Id"]
    _sale(shop.ann, "S2", ("1", "300.00"))  # its sales keep syncing
    shop.ok()
    (inv,) = shop.live("Invoice", "DocNumber", "S2")
    assert inv["CustomerRef"]["value"] == renamed["Id"]
    shop.settled(foreign=("Cara Diaz",))


def test_20_namesakes_sharing_a_household_phone_are_never_merged(shop: Shop) -> None:
    twin = _customer("Ann", "Lee", email="ann.junior@example.com", phone=shop.ann.phone)
    _sale(shop.ann, "S1", ("1", "1000.00"))
    _sale(twin, "S2", ("1", "400.00"))
    shop.ok()
    shop.settled()
    names = sorted(c["DisplayName"] for c in books(shop.emu, "Company A").all("Customer"))
    assert names in (
        ["Ann Lee", f"Ann Lee (C-{twin.id})"],
        ["Ann Lee", f"Ann Lee (C-{shop.ann.id})"],
    ), names


# --- lost replies ----------------------------------------------------------------------------


def test_21_a_lost_payment_reply_then_the_receipt_edited(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    receipt = _receipt(sale, "R1", "300.00")
    shop.push_losing_replies("Payment")
    assert [money(p["TotalAmt"]) for p in shop.doc("Payment", "PaymentRefNum", "R1")] == [
        Decimal("300.00")
    ], "the payment was not written while its reply was lost"
    receipt.amount = Decimal("250.00")
    shop.ok()
    shop.settled()
    (pay,) = shop.live("Payment", "PaymentRefNum", "R1")
    assert money(pay["TotalAmt"]) == Decimal("250.00")


def _lost_invoice(shop: Shop) -> Sale:
    """S2 is written to QuickBooks, but its reply is lost."""
    _sale(shop.ann, "S1", ("1", "200.00"))
    shop.ok()
    sale = _sale(shop.ann, "S2", ("1", "1000.00"))
    shop.push_losing_replies("Invoice")
    assert len(shop.doc("Invoice", "DocNumber", "S2")) == 1, "S2 was not written"
    return sale


def test_21_a_lost_invoice_reply_then_the_sale_cancelled(shop: Shop) -> None:
    sale = _lost_invoice(shop)
    sale.status = "cancelled"
    shop.ok()
    _assert_sale_gone(shop, "S2")
    shop.settled()


def test_21_a_lost_invoice_reply_then_the_sale_deleted(shop: Shop) -> None:
    sale = _lost_invoice(shop)
    db.session.delete(sale)
    shop.ok()
    _assert_sale_gone(shop, "S2")
    shop.settled()


def test_21_a_lost_void_reply_then_the_sale_restored(shop: Shop) -> None:
    sale = _sale(shop.ann, "S1", ("1", "1000.00"))
    shop.ok()
    sale.status = "cancelled"
    shop.push_losing_replies("Invoice")
    _assert_sale_gone(shop, "S1")  # the void reached QuickBooks, its reply did not
    sale.status = "sold"
    _receipt(sale, "R1", "300.00")
    shop.ok()
    shop.settled()


# --- company rules ---------------------------------------------------------------------------


def test_22_a_sale_dated_in_a_closed_period_is_not_sent_nor_retried(shop: Shop) -> None:
    closed = _sale(shop.ann, "S1", ("1", "1000.00"), sold_on=date(2026, 1, 15))
    open_ = _sale(shop.bob, "S2", ("1", "500.00"))
    shop.ok()
    shop.emu.set_company(shop.realm, book_close_date="2026-01-31")
    closed.lines[0].quantity = Decimal(2)
    open_.lines[0].quantity = Decimal(2)
    run = shop.push()
    assert run.status is not RunStatus.SUCCEEDED
    issues = _issues()
    assert "clos" in f"{run.message} {issues}".lower(), (run.message, issues)
    (inv1,) = shop.live("Invoice", "DocNumber", "S1")
    (inv2,) = shop.live("Invoice", "DocNumber", "S2")
    assert money(inv1["TotalAmt"]) == Decimal("1000.00")  # untouched: the period is closed
    assert money(inv2["TotalAmt"]) == Decimal("1000.00")  # other sales still sync
    before = shop.emu.stats(shop.realm)
    shop.push()
    after = shop.emu.stats(shop.realm)
    assert after["writes"] == before["writes"], "the closed period's edit was sent again"
    assert after["requests"] - before["requests"] == after["reads"] - before["reads"]
    # The books check shows the one customer whose books differ, in plain words.
    check = current_app.test_cli_runner().invoke(args=["qbo", "reconcile"])
    assert check.exit_code == 1, check.output
    assert "QuickBooks shows 1,000.00 owed by Ann Lee, the CRM 2,000.00." in check.output
    assert "Bob Ray" not in check.output


def test_23_an_automated_sales_tax_company_bills_the_crm_amount(shop: Shop) -> None:
    shop.emu.set_company(shop.realm, automated_sales_tax=True)
    _sale(shop.ann, "S1", ("3", "118.75"), ("2", "92.40"))
    shop.ok()
    (inv,) = shop.live("Invoice", "DocNumber", "S1")
    assert money(inv["TotalAmt"]) == Decimal("541.05")
    shop.settled()


def test_24_two_profiles_sharing_a_company_share_its_customers(shop: Shop) -> None:
    _segment("Siding")
    db.session.commit()
    siding = connect(shop.emu, "Siding", "Company A")
    cy = _customer("Cy", "Young", street="4 Oak Ave", city="Springfield")  # no e-mail, no phone
    for customer, n in ((shop.ann, 1), (cy, 3)):
        roof = _sale(customer, f"S{n}", ("1", "1000.00"))
        wall = _sale(customer, f"S{n + 1}", ("1", "700.00"), segment="Siding")
        _receipt(roof, f"R{n}", "100.00")
        _receipt(wall, f"R{n + 1}", "200.00")
    shop.ok()
    shop.ok(siding)
    check_books(shop.emu, "Company A", _sales("Roofing", "Siding"))
    names = sorted(c["DisplayName"] for c in books(shop.emu, "Company A").all("Customer"))
    assert names == ["Ann Lee", "Cy Young"], names
    _writes_nothing(shop.emu, "Company A", shop.profile)
    _writes_nothing(shop.emu, "Company A", siding)


# --- races -----------------------------------------------------------------------------------


def test_25_two_runs_of_one_company_started_together_write_no_duplicate(
    app_ctx: Flask, emulator: EmulatorProcess
) -> None:
    emu = emulator
    _segment("Roofing")
    _segment("Siding")
    db.session.commit()
    roofing = connect(emu, "Roofing", "Company A")
    siding = connect(emu, "Siding", "Company A")
    for n in range(1, 4):
        customer = _customer(f"Dee{n}", "Fox")  # no e-mail, no phone: nothing to link by
        roof = _sale(customer, f"S{n}", ("1", "1000.00"))
        wall = _sale(customer, f"S{n + 10}", ("1", "700.00"), segment="Siding")
        _receipt(roof, f"R{n}", "100.00")
        _receipt(wall, f"R{n + 10}", "200.00")
    db.session.commit()
    first, new = start_sync(roofing)
    assert new
    again, new = start_sync(roofing)  # a second click on the same profile joins the first run
    assert (again.id, new) == (first.id, False)
    start_sync(siding)
    # one write per request, and both workers share the company's request budget: they interleave
    env = _worker_env(app_ctx, emu.port, QBO_SYNC_BATCH_SIZE="1")
    _workers(env, count=2)
    work()  # whatever is left queued
    for profile in (roofing, siding):  # each profile once more, fault-free, to settle
        start_sync(profile)
        work()
    check_books(emu, "Company A", _sales("Roofing", "Siding"))
    _writes_nothing(emu, "Company A", roofing)
    _writes_nothing(emu, "Company A", siding)


# --- references made inactive in QuickBooks ---------------------------------------------------


def test_26_a_customer_and_an_item_made_inactive_in_quickbooks_are_made_active_again(
    shop: Shop,
) -> None:
    first = _sale(shop.ann, "S1", ("1", "300.00"))
    _receipt(first, "R1", "100.00")
    shop.ok()
    ann = shop.customer("Ann Lee")
    (item,) = [i for i in books(shop.emu, "Company A").all("Item") if i["Name"] == "Shingles"]
    shop.emu.deactivate(shop.realm, "Customer", ann["Id"])
    shop.emu.deactivate(shop.realm, "Item", item["Id"])
    _sale(shop.ann, "S2", ("2", "150.00"))  # a new sale of hers, of that product
    shop.ok()
    shop.settled()
    assert shop.customer("Ann Lee")["Active"] is True
    (again,) = [i for i in books(shop.emu, "Company A").all("Item") if i["Name"] == "Shingles"]
    assert again["Active"] is True
    assert len(shop.live("Invoice", "DocNumber", "S2")) == 1
