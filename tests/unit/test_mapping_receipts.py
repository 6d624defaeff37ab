"""Payment, credit memo and credit application mapping for receipts and adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from qbo_sync.errors import MappingError
from qbo_sync.mapping import (
    adjustment_effect,
    to_qbo_adjustment_line,
    to_qbo_credit_application,
    to_qbo_credit_memo,
    to_qbo_payment,
)
from qbo_sync.source import ReceiptRecord

RECEIPT = ReceiptRecord(
    id="501",
    number="R-501",
    kind="receipt",
    customer_id="1234",
    sale_id="77",
    received_on=date(2026, 3, 5),
    payment_method="Check",
    amount=Decimal("100.5"),
)
REDUCE = ReceiptRecord(
    id="502",
    number="ADJ-502",
    kind="adjustment",
    customer_id="1234",
    sale_id="77",
    received_on=date(2026, 3, 6),
    payment_method=None,
    amount=Decimal("33.33"),
)
INCREASE = ReceiptRecord(
    id="503",
    number="ADJ-503",
    kind="adjustment",
    customer_id="1234",
    sale_id="77",
    received_on=date(2026, 3, 7),
    payment_method=None,
    amount=Decimal("-0.01"),
)


def test_payment(golden) -> None:
    golden("payment", to_qbo_payment(RECEIPT, "58", "145", "2", "4"))


def test_payment_without_method_or_deposit_account() -> None:
    payment = to_qbo_payment(RECEIPT, "58", "145", None, None)
    assert "PaymentMethodRef" not in payment and "DepositToAccountRef" not in payment
    assert payment["TotalAmt"] == payment["Line"][0]["Amount"] == Decimal("100.50")


def test_reducing_adjustment_is_a_credit_memo_applied_by_a_zero_payment(golden) -> None:
    assert adjustment_effect(REDUCE) == "reduce"
    golden(
        "adjustment_reduce",
        {
            "credit_memo": to_qbo_credit_memo(REDUCE, "58", "30", "84"),
            "application": to_qbo_credit_application(REDUCE, "58", "145", "146"),
        },
    )


def test_increasing_adjustment_is_an_invoice_line(golden) -> None:
    assert adjustment_effect(INCREASE) == "increase"
    golden("adjustment_increase_line", to_qbo_adjustment_line(INCREASE, "30"))


def test_wrong_directions_are_refused() -> None:
    with pytest.raises(MappingError):
        to_qbo_credit_memo(INCREASE, "58", "30")
    with pytest.raises(MappingError):
        to_qbo_credit_application(INCREASE, "58", "145", "146")
    with pytest.raises(MappingError):
        to_qbo_adjustment_line(REDUCE, "30")
    with pytest.raises(MappingError):
        to_qbo_payment(INCREASE, "58", "145", None, None)
    zero = ReceiptRecord("1", "A", "adjustment", "c", "s", date(2026, 1, 1), None, Decimal("0.004"))
    assert adjustment_effect(zero) == "none"
