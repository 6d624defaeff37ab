"""Customer mapping: field layout, cleaning of what QuickBooks forbids, and the clash rule."""

from __future__ import annotations

from dataclasses import replace

from qbo_sync.mapping import disambiguated_display_name, to_qbo_customer
from qbo_sync.source import CustomerRecord

JANE = CustomerRecord(
    id="1234",
    first_name="Jane",
    last_name="Smith",
    company_name="Smith & Daughters Ltd",
    email="jane@smith.test",
    phone="(555) 010-2000",
    alt_phone="555 010 2001",
    street="1 Main St",
    city="Springfield",
    state="CA",
    postal_code="90000",
)


def mapped(customer: CustomerRecord, display_name: str | None = None) -> dict[str, object]:
    result = to_qbo_customer(customer, display_name)
    return {"body": result.body, "notes": list(result.notes)}


def test_full_customer(golden) -> None:
    golden("customer_full", mapped(JANE))


def test_missing_email_phone_address_and_company(golden) -> None:
    bare = replace(
        JANE,
        company_name=None,
        email=None,
        phone="",
        alt_phone=None,
        street=None,
        city=None,
        state=None,
        postal_code=None,
    )
    golden("customer_bare", mapped(bare))


def test_colon_tab_newline_and_control_characters(golden) -> None:
    messy = replace(
        JANE,
        first_name="Jane\tAnn",
        last_name="Smith:Jones",
        company_name="Acme: West\nDivision\x07",
        email="  jane@smith.test ",
        phone="555\t0102000",
        street="1 Main St\nSuite 5",
        city="Spring\x00field",
    )
    golden("customer_cleaned", mapped(messy))


def test_over_long_names_are_cut(golden) -> None:
    long = replace(
        JANE,
        first_name="G" * 120,
        last_name="F" * 101,
        company_name="Company " + "x" * 60,
        phone="+1 " + "5" * 40,
        email="not-an-email",
    )
    golden("customer_long", mapped(long))


def test_display_name_from_company_or_id_when_no_person_name() -> None:
    company_only = replace(JANE, first_name="", last_name=" ")
    assert to_qbo_customer(company_only).display_name == "Smith & Daughters Ltd"
    nobody = replace(company_only, company_name=None)
    assert to_qbo_customer(nobody).display_name == "Customer 1234"


def test_disambiguated_display_name_rule(golden) -> None:
    assert disambiguated_display_name("Jane Smith", "1234") == "Jane Smith (C-1234)"
    long = disambiguated_display_name("N" * 500, "987")
    assert len(long) == 500 and long.endswith("N (C-987)")
    assert disambiguated_display_name("Jane Smith", "a:b") == "Jane Smith (C-a - b)"
    # The engine passes the disambiguated name back in; no cleaning note is added for it.
    golden("customer_disambiguated", mapped(JANE, disambiguated_display_name("Jane Smith", "1234")))


def test_mapping_is_deterministic() -> None:
    assert to_qbo_customer(JANE) == to_qbo_customer(JANE)
