"""Generated hostile input: whatever a CRM field holds (emoji, right-to-left text, combining
marks, control characters, markup, 700 characters), the mapping's output keeps QuickBooks'
documented field rules (qbo-api-notes §2.1 and §2.3: lengths, no ':' tab or line break in names,
an e-mail QuickBooks takes, amounts to the cent, Qty x UnitPrice = Amount) and is stable (the
same record, the same hash). The emulator's own validators are the oracle. End to end, a few
generated customers and sales either arrive as mapped or fail with a plain reason.
"""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st
from qbo_emulator.entities.common import EMAIL, check_lengths, check_name_chars
from qbo_emulator.entities.names import ADDRESS_LIMITS, LIMITS
from qbo_emulator.errors import ApiFault
from qbo_sync.errors import MappingError
from qbo_sync.jobs import start_sync
from qbo_sync.mapping import disambiguated_display_name, payload_hash, to_qbo_customer
from qbo_sync.mapping.receipts import to_qbo_payment
from qbo_sync.mapping.sales import DOC_NUMBER_MAX, to_qbo_invoice
from qbo_sync.models import DocKind, RecordStatus, SyncDocument
from qbo_sync.source import CustomerRecord, ReceiptRecord, SaleLineRecord, SaleRecord

from crm.models import Customer, Sale, SaleLine, db
from tests.engine.books import writes_of_next_run
from tests.engine.conftest import money, work
from tests.hostile.shop import World, record

CENT = Decimal("0.01")
# Letters, marks (combining), numbers, punctuation (curly quotes, dashes), symbols (emoji),
# separators and control or format characters (tab, newline, bidi overrides, zero-width).
HOSTILE = st.characters(
    categories=["L", "M", "N", "P", "S", "Zs", "Zl", "Zp", "Cc", "Cf"],
    exclude_characters="\x00",  # PostgreSQL text cannot hold NUL; the CRM never sees one
)
FIXED = st.sampled_from(
    [
        ":",
        "\t",
        "\r\n",
        "🏠",
        "\u202e",
        "\u200f",
        "שלום",
        "e\u0301",
        "’",
        "—",
        "\\",
        "'",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
    ]
)
TEXT = st.lists(st.one_of(st.text(HOSTILE, max_size=40), FIXED), max_size=8).map("".join)
LONG_TEXT = st.one_of(TEXT, st.text(HOSTILE, min_size=450, max_size=700))
EMAILS = st.one_of(
    st.none(),
    TEXT,
    st.emails().map(str),
    st.sampled_from(["a@b", "<x>@y.com", "a b@c.com", "x@y.c", "ünï@例え.jp", "a@b.com\n"]),
)
CENTS = st.decimals(min_value=-100000, max_value=100000, places=2, allow_nan=False)
QTY = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
PURE = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _clean_text(text: str) -> bool:
    """No control or format characters, no outer spaces, no doubled spaces."""
    bad = any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)
    return not bad and text == text.strip() and "  " not in text


customers = st.builds(
    CustomerRecord,
    id=st.integers(1, 10**9).map(str),
    first_name=LONG_TEXT,
    last_name=LONG_TEXT,
    company_name=st.one_of(st.none(), LONG_TEXT),
    email=EMAILS,
    phone=st.one_of(st.none(), TEXT),
    alt_phone=st.one_of(st.none(), TEXT),
    street=st.one_of(st.none(), LONG_TEXT),
    city=st.one_of(st.none(), LONG_TEXT),
    state=st.one_of(st.none(), TEXT),
    postal_code=st.one_of(st.none(), TEXT),
)


@PURE
@given(customer=customers)
def test_customer_mapping_keeps_quickbooks_rules_and_is_stable(customer: CustomerRecord) -> None:
    mapped = to_qbo_customer(customer)
    body = mapped.body
    try:  # the emulator's validation of a Customer, as QuickBooks documents it
        check_lengths(body, LIMITS)
        check_name_chars(body["DisplayName"], "DisplayName")
        for part in ("GivenName", "FamilyName", "CompanyName"):
            if part in body:
                check_name_chars(body[part], part)
        for key, limit in ADDRESS_LIMITS.items():
            check_lengths(body.get("BillAddr") or {}, {key: limit})
    except ApiFault as fault:
        pytest.fail(f"QuickBooks would refuse {body!r}: {fault}")
    assert body["DisplayName"], "QuickBooks needs a DisplayName"
    assert ":" not in body["DisplayName"]
    if "PrimaryEmailAddr" in body:
        assert EMAIL.match(body["PrimaryEmailAddr"]["Address"]), body["PrimaryEmailAddr"]
    elif customer.email and customer.email.strip():
        assert any(n.startswith("email:") for n in mapped.notes), mapped.notes
    assert all(_clean_text(s) for s in _strings(body)), body
    assert all(v not in ("", None, {}) for v in body.values()), "empty fields are left out"
    again = to_qbo_customer(customer)
    assert payload_hash(again.body) == payload_hash(body) and again.notes == mapped.notes


lines = st.builds(
    SaleLineRecord,
    product_id=st.just("1"),
    product_name=st.just("Shingles"),
    description=st.one_of(st.none(), LONG_TEXT),
    quantity=QTY,
    unit_price=CENTS,
)
sales = st.builds(
    SaleRecord,
    id=st.just("7"),
    number=st.one_of(TEXT, st.text(HOSTILE, min_size=1, max_size=30)),
    customer_id=st.just("1"),
    segment_key=st.just("1"),
    sold_on=st.dates(date(1900, 1, 1), date(2999, 12, 31)),
    status=st.just("sold"),
    lines=st.lists(lines, max_size=4).map(tuple),
)


@PURE
@given(sale=sales)
def test_invoice_mapping_is_exact_to_the_cent_or_refused_in_plain_words(sale: SaleRecord) -> None:
    try:
        body = to_qbo_invoice(sale, "1", {"Shingles": "9"}, "80")
    except MappingError as exc:
        reason = str(exc)
        assert (
            not sale.lines
            or "longer than QuickBooks' 21 characters" in reason
            or "QuickBooks takes invoices of 0 or more" in reason
        ), reason
        return
    assert 0 < len(body["DocNumber"]) <= DOC_NUMBER_MAX or not body["DocNumber"]
    assert _clean_text(body["DocNumber"]), body["DocNumber"]
    total = Decimal("0.00")
    for line, crm in zip(body["Line"], sale.lines, strict=True):
        amount, detail = line["Amount"], line["SalesItemLineDetail"]
        assert amount == crm.amount and amount.as_tuple().exponent == -2, (amount, crm.amount)
        assert detail["Qty"] * detail["UnitPrice"] == amount  # QuickBooks' 6070 check
        assert len(line.get("Description", "")) <= 4000
        total += amount
    assert total == sale.amount >= 0
    assert payload_hash(to_qbo_invoice(sale, "1", {"Shingles": "9"}, "80")) == payload_hash(body)


@PURE
@given(amount=CENTS, number=TEXT)
def test_payment_amounts_are_exact_cents_or_refused(amount: Decimal, number: str) -> None:
    receipt = ReceiptRecord("5", number or "R", "receipt", "1", "7", date(2026, 3, 9), None, amount)
    try:
        body = to_qbo_payment(receipt, "1", "2", None, None)
    except MappingError as exc:
        assert amount <= 0 and "non-positive amount" in str(exc)
        return
    assert body["TotalAmt"] == amount.quantize(CENT) > 0
    assert len(body["PaymentRefNum"]) <= 21 and _clean_text(body["PaymentRefNum"])


# --- end to end: a few generated records through a real run ----------------------------------

_serial = itertools.count(1)


def _cut(value: str | None, column: sa.Column[Any]) -> str | None:
    """What the CRM can store (PostgreSQL keeps a column's length; its form refuses more)."""
    length = getattr(column.type, "length", None)
    return value[:length] if value is not None and length else value


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(customer=customers, sale=sales)
@example(
    customer=CustomerRecord(
        "0",
        "Zoë: 🏠\t",
        "\u202eכהן e\u0301 <b>x</b>",
        "‘Curly’ — \\ " * 20,
        "<x>@y.com",
        "\t555\n0100 " * 5,
        None,
        "1 Main St\n\tApt 2",
        "Spring\u200bfield",
        None,
        None,
    ),
    sale=SaleRecord(
        "0",
        "S:\t1",
        "0",
        None,
        date(2026, 5, 1),
        "sold",
        (SaleLineRecord("1", "Shingles", "a\tb", Decimal("1.5"), Decimal("3.33")),),
    ),
)
def test_generated_records_arrive_or_fail_in_plain_words(
    world: World, customer: CustomerRecord, sale: SaleRecord
) -> None:
    shop, table = world.shop, Customer.__table__.c
    n = next(_serial)
    fields = {
        f: _cut(getattr(customer, f), table[f])
        for f in CustomerRecord.__dataclass_fields__
        if f != "id"
    }
    first, last = fields.pop("first_name") or "", fields.pop("last_name") or ""
    crm_customer = shop.customer(f"gen{n}", first, last, **fields)
    number = _cut(f"G{n}-{sale.number}", Sale.__table__.c.number) or f"G{n}"
    crm_sale = shop.sale(
        f"gen{n}",
        crm_customer,
        number,
        *[(str(line.quantity), str(line.unit_price)) for line in sale.lines],
        sold_on=sale.sold_on,
        description=_cut(sale.lines[0].description, SaleLine.__table__.c.description)
        if sale.lines
        else None,
    )
    db.session.commit()
    start_sync(world.profile)
    work()
    db.session.expire_all()
    cust_rec = record(DocKind.CUSTOMER, crm_customer.id)
    assert cust_rec is not None
    note(f"customer {cust_rec.status}: {cust_rec.explanation}")
    assert cust_rec.status is RecordStatus.SYNCED, cust_rec.explanation  # a customer always arrives
    held = next(c for c in world.qbo.all("Customer") if str(c["Id"]) == cust_rec.qbo_id)
    mapped = to_qbo_customer(_record_of(crm_customer)).body
    assert held["DisplayName"] in (
        mapped["DisplayName"],
        disambiguated_display_name(mapped["DisplayName"], str(crm_customer.id)),
    )
    assert held.get("PrimaryEmailAddr") == mapped.get("PrimaryEmailAddr")
    inv_rec = record(DocKind.INVOICE, crm_sale.id)
    assert inv_rec is not None
    if inv_rec.status is RecordStatus.SYNCED:
        invoice = next(i for i in world.qbo.all("Invoice") if str(i["Id"]) == inv_rec.qbo_id)
        assert money(invoice["TotalAmt"]) == crm_sale.amount
        assert invoice["TxnDate"] == crm_sale.sold_on.isoformat()
    else:
        assert inv_rec.status is RecordStatus.FAILED and inv_rec.explanation, inv_rec.status
        assert inv_rec.explanation.startswith(("The sale cannot be sent", "Not sent:")), (
            inv_rec.explanation
        )


def _record_of(customer: Customer) -> CustomerRecord:
    return CustomerRecord(
        id=str(customer.id),
        **{f: getattr(customer, f) for f in CustomerRecord.__dataclass_fields__ if f != "id"},
    )


def test_after_the_generated_records_a_run_writes_only_what_quickbooks_refused(
    world: World,
) -> None:
    """Nothing that arrived is written again; only records QuickBooks itself refused are
    retried (none of the generated ones, whose problems are found before any request)."""
    db.session.expire_all()
    refused = db.session.scalars(
        sa.select(SyncDocument).where(
            SyncDocument.status == RecordStatus.FAILED, SyncDocument.intuit_tid.is_not(None)
        )
    ).all()
    assert sorted(r.local_id for r in refused) == sorted(
        str(world.shop.sales[k].id) for k in ("dup2", "quoted")
    )
    assert {r.error_code for r in refused} == {"6140"}  # the fixed duplicate numbers only
    ids = [int(r.local_id) for r in refused]
    assert 0 < writes_of_next_run(world.emu, "Company A", world.profile) <= len(ids)
    db.session.expire_all()
    again = [record(DocKind.INVOICE, local_id) for local_id in ids]
    assert all(r is not None and r.status is RecordStatus.FAILED for r in again)
