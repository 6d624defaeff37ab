"""What the CRM's forms refuse because it can never be valid: a negative quantity or price, a
price in fractions of a cent, an empty sale number or customer name, a receipt of nothing, a
date outside any plausible range. Each rule is a WTForms validator with a message that says
what to enter instead; crm/admin.py attaches them to the forms.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from wtforms import Field, Form
from wtforms.validators import ValidationError

EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)
CENT = Decimal("0.01")


def _controls(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


class NotBlank:
    """Text that is more than spaces."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, form: Form, field: Field) -> None:
        if not str(field.data or "").strip():
            raise ValidationError(f"Enter {self.what}; it cannot be empty or only spaces.")


class SingleLine:
    """No tab, line break or other control character (a number or code, not free text)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and _controls(str(field.data)):
            raise ValidationError(
                f"{self.what} cannot contain tabs, line breaks or other control characters."
            )


class NotNegative:
    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and Decimal(field.data) < 0:
            raise ValidationError(f"{self.what} cannot be negative (it is {field.data}).")


class Cents:
    """Money in whole cents: at most two decimals."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and Decimal(field.data) % CENT:
            raise ValidationError(
                f"{self.what} is money: at most two decimals (cents), not {field.data}."
            )


class Hundredths:
    """A quantity the CRM stores with two decimals."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not None and Decimal(field.data) % CENT:
            raise ValidationError(
                f"Quantity has at most two decimals (the CRM keeps hundredths), not {field.data}."
            )


class InRange:
    """A date between EARLIEST and LATEST."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if isinstance(value, date) and not EARLIEST <= value <= LATEST:
            raise ValidationError(
                f"{self.what} {value.isoformat()} is out of range: enter a date between "
                f"{EARLIEST.isoformat()} and {LATEST.isoformat()}."
            )


def receipt_amount(form: Any, field: Field) -> None:
    """Not zero; a receipt is money received (more than 0), an adjustment either way."""
    if field.data is None:
        return
    amount = Decimal(field.data)
    kind = getattr(getattr(form, "kind", None), "data", None)
    if amount == 0:
        raise ValidationError(
            "An amount of 0 records nothing: enter what was received, or of the adjustment."
        )
    if kind == "receipt" and amount < 0:
        raise ValidationError(
            f"A receipt is money received: its amount must be more than 0 (it is {amount}). "
            "To raise what the customer owes, record a negative adjustment."
        )
