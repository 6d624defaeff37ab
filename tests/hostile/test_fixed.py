"""Fixed hostile cases, one test per family of the issue, all on one synced CRM (see conftest).

Each record either arrives exactly as QuickBooks must hold it (the cleaning QuickBooks forces
recorded on the record) or is listed as failed or blocked with a plain reason; the ordinary
records arrive whatever their neighbours hold, and a second run writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.mapping.text import clean
from qbo_sync.models import DocKind, RecordStatus, SyncDocument

from crm.models import Customer, db
from tests.engine.books import writes_of_next_run
from tests.engine.conftest import books, connect, money, work
from tests.hostile.conftest import SOLD, Shop, World, fits, is_sqlite, record

CLOSED = "2025-12-31"
LONG = 600


def _build(shop: Shop) -> None:
    c = shop.customer
    ok = c("ok", "Olive", "Ordinary", email="olive@example.com", phone="555-0101")
    shop.receipt(
        "ok", shop.sale("ok", ok, "H-OK1", ("2", "150.00"), ("1", "99.99")), "R-OK1", "100.00"
    )
    shop.sale("ok2", c("ok2", "Oscar", "Plain"), "H-OK2", ("1", "10.00"))
    # names
    c("colon", "Ann: The", "Builder", company_name="Acme:Roofing")
    c("ws", "Tab\tBy", "New\nLine\r\nName", street="1 Main St\n\tApt 2\n\n", city="Spring\tfield")
    c("uni", "Zoë🏠", "כהן e\u0301", city="תל אביב")
    c("bidi", "Rtl\u202eOverride", "Zero\u200bWidth")
    c("quotes", "Seán", 'O’Brien—Smith \\ "Jr"', company_name="‘Curly’ – “Dashes”")
    c("html", "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
    c("sql", "Robert'); DROP TABLE customer;--", "x' OR '1'='1")
    c("qlang", "Pat", "O'Neil \\ Sons", email="pat@oneil.example")  # taken in QuickBooks
    c(
        "long",
        "F" * fits(Customer.__table__.c.first_name, LONG),
        "L" * fits(Customer.__table__.c.last_name, LONG),
        company_name="C" * fits(Customer.__table__.c.company_name, LONG),
        street="S" * fits(Customer.__table__.c.street, LONG),
        city="Y" * fits(Customer.__table__.c.city, LONG),
    )
    # twins: shared phone, no shared contact, shared e-mail; names of a vendor and an employee
    c("sam1", "Sam", "Twin", phone="555-0100", email="sam1@example.com")
    c("sam2", "Sam", "Twin", phone="555-0100", email="sam2@example.com")
    c("kim1", "Kim", "Twin")
    c("kim2", "Kim", "Twin")
    c("lee1", "Lee", "Twin", email="family@example.com")
    c("lee2", "Lee", "Twin", email="family@example.com")
    c("vendor", "", "", company_name="Books by Bessie")
    c("employee", "Emily", "Platt")
    # e-mails and phones
    c("mail1", "Mail", "NoAt", email="not-an-email", phone="+1 (555) 010-2000 ext. 12345678")
    c("mail2", "Mail", "NoDot", email="a@b", phone="\t555\n0199")
    c("mail3", "Mail", "Angle", email="<x>@y.com", alt_phone="☎ 555 0142")
    c("mail4", "Mail", "Space", email="a b@c.com")
    c("mail5", "Mail", "Good", email="  good.mail+tag@example.co.uk ")
    for key in [k for k in shop.customers if k not in ("ok", "ok2")]:
        shop.sale(key, shop.customers[key], f"H-{key.upper()}", ("1", "100.00"))

    # sales: numbers, amounts, lines, dates
    h = c("sales", "Hana", "Sales")
    if is_sqlite():  # PostgreSQL holds 21 characters; the form refuses more (test_forms)
        long_sale = shop.sale("longnum", h, "H-" + "9" * 23, ("1", "10.00"))
        shop.receipt("longnum", long_sale, "R-LONGNUM", "5.00")
    shop.sale("dup1", h, "H-DUP", ("1", "20.00"))
    shop.sale("dup2", h, "H-DUP\t", ("1", "21.00"))  # the same number once cleaned
    shop.sale("zero", h, "H-ZERO", ("1", "0.00"))
    shop.sale("neg", h, "H-NEGLINE", ("1", "100.00"), ("-1", "20.00"))
    shop.sale("three", h, "H-THREE", ("1.5", "3.33"))
    shop.receipt("nolines", shop.sale("nolines", h, "H-NOLINES"), "R-NOLINES", "5.00")
    shop.sale("html_num", h, "<i>S</i>")  # no lines: fails, its number shown on the page
    over = shop.sale("over", h, "H-OVER", ("1", "100.00"))
    shop.receipt("over", over, "R-OVER", "150.00")
    shop.receipt("zero", over, "R-ZERO", "0.00")
    shop.receipt("negative", over, "R-NEG", "-5.00")
    cancelled = shop.sale("cancelled", h, "H-CANCELLED", ("1", "50.00"), status="cancelled")
    shop.receipt("cancelled", cancelled, "R-CANCELLED", "50.00")
    shop.sale("past", h, "H-PAST", ("1", "10.00"), sold_on=date(1900, 1, 2))
    shop.sale("future", h, "H-FUTURE", ("1", "10.00"), sold_on=date(2999, 12, 31))
    shop.sale("closed", h, "H-CLOSED", ("1", "10.00"), sold_on=date(2025, 6, 30))
    shop.receipt("closed", shop.sales["ok2"], "R-CLOSED", "1.00", on=date(2025, 12, 31))


@pytest.fixture(scope="module")
def world(module_ctx: Flask, module_emulator: EmulatorProcess) -> Iterator[World]:
    emu = module_emulator
    shop = Shop()
    _build(shop)
    db.session.commit()
    profile = connect(emu, "Roofing", "Company A")
    qbo = books(emu, "Company A")
    emu.set_company(qbo.realm, book_close_date=CLOSED)
    # What the bookkeeper has in QuickBooks already: a customer whose name has a quote and a
    # backslash (the query language's escapes).
    qbo.create("Customer", {"DisplayName": "Pat O'Neil \\ Sons"})
    start_sync(profile)
    work()
    world = World(emu, profile, qbo, shop)
    world.second_run_writes = writes_of_next_run(emu, "Company A", profile)
    yield world


def _doc(kind: DocKind, local_id: int) -> SyncDocument:
    rec = record(kind, local_id)
    assert rec is not None, (kind, local_id)
    return rec


def _notes(rec: SyncDocument) -> str:
    return " ".join([rec.cleaned or "", *((rec.facts or {}).get("notes") or [])])


def _customer(world: World, key: str) -> tuple[dict[str, Any], SyncDocument]:
    cust = world.shop.customers[key]
    rec = _doc(DocKind.CUSTOMER, cust.id)
    assert rec.status is RecordStatus.SYNCED, (key, rec.status, rec.explanation)
    doc = next(c for c in world.qbo.all("Customer") if str(c["Id"]) == rec.qbo_id)
    return doc, rec


def test_ordinary_records_arrive_and_second_run_writes_nothing(world: World) -> None:
    invoices = world.invoices()
    ok = invoices["H-OK1"][0]
    assert money(ok["TotalAmt"]) == Decimal("399.99") and money(ok["Balance"]) == Decimal("299.99")
    assert money(invoices["H-OK2"][0]["TotalAmt"]) == Decimal("10.00")
    names = world.by_name()
    assert names["Olive Ordinary"]["PrimaryEmailAddr"] == {"Address": "olive@example.com"}
    assert "R-OK1" in [p.get("PaymentRefNum") for p in world.qbo.all("Payment")]
    # A second run sends only the retry of what QuickBooks itself refused (the duplicate number,
    # which QuickBooks might accept once the bookkeeper renumbered the other invoice); nothing
    # that arrived, nor a record refused before any request, is written again.
    db.session.expire_all()
    refused = db.session.scalars(
        sa.select(SyncDocument).where(
            SyncDocument.status == RecordStatus.FAILED, SyncDocument.intuit_tid.is_not(None)
        )
    ).all()
    assert [r.error_code for r in refused] == ["6140"]
    assert world.second_run_writes == len(refused)


def test_colons_tabs_newlines_and_control_characters_are_cleaned_and_noted(world: World) -> None:
    doc, rec = _customer(world, "colon")
    assert doc["DisplayName"] == "Ann - The Builder" and doc["GivenName"] == "Ann - The"
    assert doc["CompanyName"] == "Acme - Roofing"
    assert "replaced ':'" in _notes(rec)
    doc, rec = _customer(world, "ws")
    assert doc["DisplayName"] == "Tab By New Line Name"
    assert doc["BillAddr"]["Line1"] == "1 Main St" and doc["BillAddr"]["Line2"] == "Apt 2"
    assert doc["BillAddr"]["City"] == "Spring field"
    assert "tabs, line breaks or control characters" in _notes(rec)
    doc, rec = _customer(world, "bidi")
    assert doc["DisplayName"] == "Rtl Override Zero Width"
    assert "control characters" in _notes(rec)


def test_emoji_rtl_combining_marks_quotes_dashes_backslashes_arrive_unchanged(
    world: World,
) -> None:
    for key, name in (
        ("uni", "Zoë🏠 כהן e\u0301"),
        ("quotes", 'Seán O’Brien—Smith \\ "Jr"'),
        ("html", '<script>alert(1)</script> "><img src=x onerror=alert(2)>'),
        ("sql", "Robert'); DROP TABLE customer;-- x' OR '1'='1"),
    ):
        doc, rec = _customer(world, key)
        assert doc["DisplayName"] == name, key
        assert not _notes(rec).strip(), (key, _notes(rec))
    doc, _ = _customer(world, "uni")
    assert doc["BillAddr"]["City"] == "תל אביב"
    doc, _ = _customer(world, "quotes")
    assert doc["CompanyName"] == "‘Curly’ – “Dashes”"
    assert world.qbo.query("SELECT COUNT(*) FROM Customer") is not None  # the books still answer


def test_long_names_and_addresses_are_cut_at_quickbooks_limits(world: World) -> None:
    cust = world.shop.customers["long"]
    doc, rec = _customer(world, "long")
    assert doc["GivenName"] == cust.first_name[:100]
    assert doc["FamilyName"] == cust.last_name[:100]
    assert doc["DisplayName"] == f"{cust.first_name} {cust.last_name}"[:500].rstrip()
    assert doc["CompanyName"] == cust.company_name[:50]
    assert doc["BillAddr"]["Line1"] == cust.street[:500]
    assert doc["BillAddr"]["City"] == cust.city[:255]
    assert "company name: cut from" in _notes(rec)
    if is_sqlite():
        assert "display name: cut from 1201 to 500 characters" in _notes(rec)


def test_same_names_are_never_merged_and_clashes_get_the_crm_id(world: World) -> None:
    names = world.by_name()
    for first, second in (("sam1", "sam2"), ("kim1", "kim2"), ("lee1", "lee2")):
        a, b = world.shop.customers[first], world.shop.customers[second]
        ra, rb = _doc(DocKind.CUSTOMER, a.id), _doc(DocKind.CUSTOMER, b.id)
        assert ra.qbo_id and rb.qbo_id and ra.qbo_id != rb.qbo_id, (first, "merged")
        assert {names[a.full_name]["Id"], names[f"{b.full_name} (C-{b.id})"]["Id"]} == {
            ra.qbo_id,
            rb.qbo_id,
        }
        assert "is taken in QuickBooks" in _notes(rb)
    vendor = world.shop.customers["vendor"]
    assert f"Books by Bessie (C-{vendor.id})" in names
    employee = world.shop.customers["employee"]
    assert f"Emily Platt (C-{employee.id})" in names
    pat = world.shop.customers["qlang"]  # the name with ' and \ was looked up and kept apart
    assert f"Pat O'Neil \\ Sons (C-{pat.id})" in names and "Pat O'Neil \\ Sons" in names
    for key in ("sam2", "vendor", "employee", "qlang"):
        assert world.invoices()[f"H-{key.upper()}"], key  # their sales arrived under them


def test_malformed_emails_are_left_out_with_a_note_and_phones_cleaned(world: World) -> None:
    for key in ("mail1", "mail2", "mail3", "mail4"):
        doc, rec = _customer(world, key)
        assert "PrimaryEmailAddr" not in doc, (key, doc.get("PrimaryEmailAddr"))
        assert "is not an e-mail address; left out" in _notes(rec), key
    doc, rec = _customer(world, "mail5")
    assert doc["PrimaryEmailAddr"] == {"Address": "good.mail+tag@example.co.uk"}
    doc, rec = _customer(world, "mail1")
    assert doc["PrimaryPhone"]["FreeFormNumber"] == "+1 (555) 010-2000 ext. 1234567"[:30]
    assert "phone: cut from" in _notes(rec)
    doc, _ = _customer(world, "mail2")
    assert doc["PrimaryPhone"]["FreeFormNumber"] == "555 0199"
    doc, _ = _customer(world, "mail3")
    assert doc["AlternatePhone"]["FreeFormNumber"] == "☎ 555 0142"


def test_sale_numbers_too_long_or_duplicate_are_refused_with_the_reason(world: World) -> None:
    shop = world.shop
    if is_sqlite():
        rec = _doc(DocKind.INVOICE, shop.sales["longnum"].id)
        assert rec.status is RecordStatus.FAILED
        assert "longer than QuickBooks' 21 characters" in (rec.explanation or "")
        pay = _doc(DocKind.PAYMENT, shop.receipts["longnum"].id)
        assert pay.status is RecordStatus.BLOCKED and rec.explanation in (pay.root_cause or "")
    first = _doc(DocKind.INVOICE, shop.sales["dup1"].id)
    second = _doc(DocKind.INVOICE, shop.sales["dup2"].id)
    assert first.status is RecordStatus.SYNCED
    assert second.status is RecordStatus.FAILED and second.error_code == "6140"
    assert "already has this number" in (second.explanation or "")
    assert len(world.invoices()["H-DUP"]) == 1


def test_amounts_zero_negative_three_decimals_and_sales_without_lines(world: World) -> None:
    shop, invoices = world.shop, world.invoices()
    assert money(invoices["H-ZERO"][0]["TotalAmt"]) == Decimal("0.00")
    neg = invoices["H-NEGLINE"][0]
    assert money(neg["TotalAmt"]) == Decimal("80.00")
    three = invoices["H-THREE"][0]
    line = next(ln for ln in three["Line"] if ln.get("DetailType") == "SalesItemLineDetail")
    assert money(line["Amount"]) == Decimal("5.00") and money(three["TotalAmt"]) == Decimal("5.00")
    assert "x 3.33" in line["Description"]
    for key in ("nolines", "html_num"):
        rec = _doc(DocKind.INVOICE, shop.sales[key].id)
        assert rec.status is RecordStatus.FAILED, key
        assert "has no lines" in (rec.explanation or ""), key
    pay = _doc(DocKind.PAYMENT, shop.receipts["nolines"].id)
    assert pay.status is RecordStatus.BLOCKED


def test_receipts_over_the_balance_zero_negative_and_on_cancelled_sales(world: World) -> None:
    shop = world.shop
    payments = {p.get("PaymentRefNum"): p for p in world.qbo.all("Payment")}
    over = payments["R-OVER"]
    assert money(over["TotalAmt"]) == Decimal("150.00")
    assert money(over["UnappliedAmt"]) == Decimal("50.00")
    assert money(world.invoices()["H-OVER"][0]["Balance"]) == Decimal("0.00")
    for key in ("zero", "negative"):
        rec = _doc(DocKind.PAYMENT, shop.receipts[key].id)
        assert rec.status is RecordStatus.FAILED, key
        assert "non-positive amount" in (rec.explanation or ""), key
    assert "H-CANCELLED" not in world.invoices() and "R-CANCELLED" not in payments


def test_dates_far_past_future_and_before_the_closing_date(world: World) -> None:
    shop, invoices = world.shop, world.invoices()
    assert invoices["H-FUTURE"][0]["TxnDate"] == "2999-12-31"
    for key in ("past", "closed"):
        rec = _doc(DocKind.INVOICE, shop.sales[key].id)
        assert rec.status is RecordStatus.FAILED, (key, rec.status)
        assert f"on or before the books' closing date ({CLOSED})" in (rec.explanation or "")
        assert f"H-{key.upper()}" not in invoices
    rec = _doc(DocKind.PAYMENT, shop.receipts["closed"].id)
    assert "closing date" in (rec.explanation or "")


def test_clean_is_what_the_mapping_documents(world: World) -> None:
    notes: list[str] = []
    assert clean("a:b\tc", "x", 500, notes, forbid_colon=True) == "a - b c"
    assert SOLD.year == 2026
