"""Fixed hostile cases, one test per family of the issue, all on one synced CRM (see conftest).

Each record either arrives exactly as QuickBooks must hold it (the cleaning QuickBooks forces
recorded on the record) or is listed as failed or blocked with a plain reason; the ordinary
records arrive whatever their neighbours hold, and a second run writes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from qbo_sync.models import DocKind, RecordStatus, SyncDocument

from crm.models import db
from tests.engine.conftest import money
from tests.hostile.records import CLOSED, QUOTED_NUMBER
from tests.hostile.shop import World, is_sqlite, record


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
    assert sorted(r.local_id for r in refused) == sorted(
        str(world.shop.sales[k].id) for k in ("dup2", "quoted")
    )
    assert {r.error_code for r in refused} == {"6140"}
    assert 0 < world.second_run_writes <= len(refused)  # one batch may carry both


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
    quoted = _doc(DocKind.INVOICE, shop.sales["quoted"].id)  # looked up with ' and \ escaped
    assert quoted.status is RecordStatus.FAILED and quoted.error_code == "6140"
    assert "already has this number" in (quoted.explanation or "")
    assert [money(i["TotalAmt"]) for i in world.invoices()[QUOTED_NUMBER]] == [Decimal("5.00")]


def test_amounts_zero_negative_three_decimals_and_sales_without_lines(world: World) -> None:
    shop, invoices = world.shop, world.invoices()
    assert money(invoices["H-ZERO"][0]["TotalAmt"]) == Decimal("0.00")
    neg = invoices["H-NEGLINE"][0]
    assert money(neg["TotalAmt"]) == Decimal("80.00")
    three = invoices["H-THREE"][0]
    line = next(ln for ln in three["Line"] if ln.get("DetailType") == "SalesItemLineDetail")
    assert money(line["Amount"]) == Decimal("5.00") and money(three["TotalAmt"]) == Decimal("5.00")
    assert "x 3.33" in line["Description"]
    rec = _doc(DocKind.INVOICE, shop.sales["negtotal"].id)
    assert rec.status is RecordStatus.FAILED and rec.intuit_tid is None  # no request spent
    assert "totals -30.00: QuickBooks takes invoices of 0 or more" in (rec.explanation or "")
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
    # a receipt number with a tab and a payment method with ':' and a tab: cleaned and noted
    method = payments["R- TAB"]
    methods = {m["Id"]: m["Name"] for m in world.qbo.all("PaymentMethod")}
    assert methods[method["PaymentMethodRef"]["value"]] == "Visa - Gold Card"
    assert money(method["TotalAmt"]) == Decimal("2.00")
    notes = _notes(_doc(DocKind.PAYMENT, shop.receipts["method"].id))
    assert "receipt number: replaced tabs" in notes and "payment method: replaced ':'" in notes


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
