"""Invoice mapping: lines, cents, non-taxable lines, A/R account, increasing adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from qbo_sync.errors import MappingError
from qbo_sync.mapping import item_name, to_qbo_invoice, to_qbo_item
from qbo_sync.source import ReceiptRecord, SaleLineRecord, SaleRecord

ITEMS = {"Widget": "19", "Gadget: Pro": "20", "Thirds": "21"}

SALE = SaleRecord(
    id="77",
    number="S-10293",
    customer_id="1234",
    segment_key="east",
    sold_on=date(2026, 3, 1),
    status="sold",
    lines=(
        SaleLineRecord("p1", "Widget", "Blue widget", Decimal("3"), Decimal("50.00")),
        SaleLineRecord("p2", "Gadget: Pro", "Line one\nLine\ttwo", Decimal("1.5"), Decimal("9.99")),
        SaleLineRecord("p3", "Thirds", None, Decimal("3"), Decimal("33.33")),
    ),
)


def test_invoice(golden) -> None:
    golden("invoice", to_qbo_invoice(SALE, "58", ITEMS, "84"))


def test_cents_arithmetic() -> None:
    invoice = to_qbo_invoice(SALE, "58", ITEMS, "84")
    amounts = [line["Amount"] for line in invoice["Line"]]
    # The invoice carries the CRM's own line amounts, so QuickBooks' totals equal the CRM's.
    # 1.5 x 9.99 = 14.985: SaleLineRecord.amount rounds half-even (14.98).
    assert amounts == [line.amount for line in SALE.lines]
    assert amounts == [Decimal("150.00"), Decimal("14.98"), Decimal("99.99")]
    assert sum(amounts) == SALE.amount == Decimal("264.97")
    assert all(str(a).split(".")[1].__len__() == 2 for a in amounts)


def test_invoice_with_an_increasing_adjustment(golden) -> None:
    raise_it = ReceiptRecord(
        id="9",
        number="ADJ-9",
        kind="adjustment",
        customer_id="1234",
        sale_id="77",
        received_on=date(2026, 3, 9),
        payment_method=None,
        amount=Decimal("-12.50"),
    )
    golden(
        "invoice_with_increase",
        to_qbo_invoice(SALE, "58", ITEMS, None, increases=[raise_it], adjustment_item_id="30"),
    )


def test_missing_item_and_empty_sale_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match="Widget"):
        to_qbo_invoice(SALE, "58", {"Thirds": "21"}, "84")
    with pytest.raises(MappingError, match="no lines"):
        to_qbo_invoice(
            SaleRecord("1", "S-1", "c", None, date(2026, 1, 1), "sold", ()), "5", {}, None
        )
    with pytest.raises(MappingError, match="21 characters"):
        long_number = SaleRecord("1", "S" * 22, "c", None, date(2026, 1, 1), "sold", SALE.lines)
        to_qbo_invoice(long_number, "5", ITEMS, None)


def test_item_lookup_by_cleaned_name() -> None:
    assert item_name("Gadget: Pro") == "Gadget - Pro"
    invoice = to_qbo_invoice(
        SALE, "58", {"Widget": "19", "Gadget - Pro": "20", "Thirds": "21"}, None
    )
    assert invoice["Line"][1]["SalesItemLineDetail"]["ItemRef"] == {"value": "20"}
    assert "ARAccountRef" not in invoice


def test_item(golden) -> None:
    golden("item", to_qbo_item("Gadget:\tPro " + "x" * 120, "79"))
