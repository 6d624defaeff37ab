"""The workbook's document pages (invoice, payment, credit memo) for documents written through the
API: their lines, totals, balances and links, read as a user reads them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests
from qbo_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from conftest import Connected

pytestmark = pytest.mark.conformance

CUSTOMER = "Ann's <script>alert(1)</script> Roofs"
ITEM = "Gutter <script>alert(3)</script>"
ROOF = "Roof <script>alert(2)</script> & flashing"


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def rows(page: str, table_id: str) -> list[list[str]]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells:
            found.append([text(c) for c in cells])
    return found


def field(page: str, css_class: str) -> str:
    match = re.search(rf'<dd class="{css_class}[^"]*">(.*?)</dd>', page, re.S)
    assert match is not None, css_class
    return text(match.group(1))


def links(page: str, table_id: str) -> list[str]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="([^"]+)"', table)


@dataclass
class Books:
    customer: str
    invoice: str
    payment: str
    memo: str
    credit_payment: str


def created(conn: Connected, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
    answer = conn.raw("POST", entity, json=body, params=params)
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = next(v for k, v in answer.json().items() if k != "time")
    return doc


def item_line(item: str, qty: str, rate: str, amount: str, description: str = "") -> dict[str, Any]:
    line: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": rate},
    }
    if description:
        line["Description"] = description
    return line


@pytest.fixture(scope="module")
def books(conn: Connected) -> Books:
    """An invoice with two lines, paid in part by a check (200.00 left unapplied), and a credit
    memo applied to it by a zero payment."""
    customer = created(conn, "customer", {"DisplayName": CUSTOMER})["Id"]
    gutter = created(
        conn,
        "item",
        {"Name": ITEM, "Type": "Service", "IncomeAccountRef": {"value": "1"}},
    )["Id"]
    invoice = created(
        conn,
        "invoice",
        {
            "CustomerRef": {"value": customer},
            "DocNumber": "INV<i>7</i>",
            "TxnDate": "2025-11-04",
            "DueDate": "2025-12-04",
            "Line": [
                item_line("1", "3", "1250.00", "3750.00", ROOF),
                item_line(gutter, "2", "12.50", "25.00", "Gutter guard"),
            ],
        },
    )["Id"]
    payment = created(
        conn,
        "payment",
        {
            "CustomerRef": {"value": customer},
            "TotalAmt": "1200.00",
            "TxnDate": "2025-11-06",
            "PaymentRefNum": "CHK-1",
            "PaymentMethodRef": {"value": "2"},
            "DepositToAccountRef": {"value": "3"},
            "Line": [
                {"Amount": "1000.00", "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]}
            ],
        },
    )["Id"]
    memo = created(
        conn,
        "creditmemo",
        {
            "CustomerRef": {"value": customer},
            "DocNumber": "CM-1",
            "TxnDate": "2025-11-10",
            "Line": [item_line("2", "1.5", "50.00", "75.00", "Refund <b>bad</b> hour")],
        },
    )["Id"]
    credit_payment = created(
        conn,
        "payment",
        {
            "CustomerRef": {"value": customer},
            "TotalAmt": "0",
            "TxnDate": "2025-11-11",
            "Line": [
                {"Amount": "75.00", "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]},
                {"Amount": "75.00", "LinkedTxn": [{"TxnId": memo, "TxnType": "CreditMemo"}]},
            ],
        },
    )["Id"]
    return Books(customer, invoice, payment, memo, credit_payment)


def page(emu: EmulatorProcess, realm: str, path: str) -> str:
    answer = requests.get(f"{emu.base_url}/app/{realm}/{path}", timeout=5)
    assert answer.status_code == 200, path
    assert "<script>" not in answer.text and "<b>bad</b>" not in answer.text
    return answer.text


def test_invoice_page_shows_lines_totals_balance_and_what_paid_it(
    emu: EmulatorProcess, conn: Connected, books: Books
) -> None:
    invoice = page(emu, conn.realm_id, f"invoice/{books.invoice}")
    assert "<h1>Invoice INV&lt;i&gt;7&lt;/i&gt;</h1>" in invoice
    assert "<title>Invoice INV&lt;i&gt;7&lt;/i&gt; · Company A" in invoice
    assert field(invoice, "date") == "11/04/2025" and field(invoice, "due-date") == "12/04/2025"
    assert rows(invoice, "lines") == [
        ["1", "Services", ROOF, "3", "1,250.00", "3,750.00"],
        ["2", ITEM, "Gutter guard", "2", "12.50", "25.00"],
    ]
    assert field(invoice, "subtotal") == "3,775.00" and field(invoice, "total") == "3,775.00"
    assert field(invoice, "balance") == "2,700.00"
    assert "Voided" not in invoice
    assert rows(invoice, "payments") == [
        ["Payment", "CHK-1", "11/06/2025", "1,000.00"],
        ["Payment", books.credit_payment, "11/11/2025", "75.00"],
    ]
    assert rows(invoice, "credits") == [["Credit Memo", "CM-1", "11/10/2025", "75.00"]]
    realm = conn.realm_id
    assert links(invoice, "payments") == [
        f"/app/{realm}/payment/{books.payment}",
        f"/app/{realm}/payment/{books.credit_payment}",
    ]
    assert links(invoice, "credits") == [f"/app/{realm}/creditmemo/{books.memo}"]
    customer = re.search(r'<a class="customer" href="([^"]+)">(.*?)</a>', invoice)
    assert customer is not None and text(customer.group(2)) == CUSTOMER
    assert customer.group(1) == f"/app/{realm}/customer/{books.customer}"
    heading = re.search(r"<h1>(.*?)</h1>", page(emu, realm, f"customer/{books.customer}"))
    assert heading is not None and text(heading.group(1)) == CUSTOMER


def test_payment_page_shows_the_amount_and_the_invoices_it_pays(
    emu: EmulatorProcess, conn: Connected, books: Books
) -> None:
    payment = page(emu, conn.realm_id, f"payment/{books.payment}")
    assert "<h1>Payment CHK-1</h1>" in payment and "<title>Payment CHK-1 · " in payment
    assert field(payment, "date") == "11/06/2025"
    assert field(payment, "method") == "Check" and field(payment, "reference") == "CHK-1"
    assert field(payment, "deposit-to") == "Checking"
    assert field(payment, "received") == "1,200.00" and field(payment, "unapplied") == "200.00"
    assert rows(payment, "invoices") == [
        ["Invoice # INV<i>7</i>", "11/04/2025", "3,775.00", "2,700.00", "1,000.00"]
    ]
    assert links(payment, "invoices") == [f"/app/{conn.realm_id}/invoice/{books.invoice}"]
    assert rows(payment, "credits") == [["No credits."]]

    # the zero payment that applies the credit memo: no number, so its Id
    applying = page(emu, conn.realm_id, f"payment/{books.credit_payment}")
    assert f"<h1>Payment {books.credit_payment}</h1>" in applying
    assert field(applying, "received") == "0.00" and field(applying, "unapplied") == "0.00"
    assert field(applying, "deposit-to") == "Undeposited Funds"
    assert rows(applying, "credits") == [
        ["Credit Memo # CM-1", "11/10/2025", "75.00", "0.00", "75.00"]
    ]
    assert links(applying, "credits") == [f"/app/{conn.realm_id}/creditmemo/{books.memo}"]


def test_credit_memo_page_shows_lines_total_and_remaining_credit(
    emu: EmulatorProcess, conn: Connected, books: Books
) -> None:
    memo = page(emu, conn.realm_id, f"creditmemo/{books.memo}")
    assert "<h1>Credit Memo CM-1</h1>" in memo and "<title>Credit Memo CM-1 · " in memo
    assert field(memo, "date") == "11/10/2025"
    assert rows(memo, "lines") == [
        ["1", "Hours", "Refund <b>bad</b> hour", "1.5", "50.00", "75.00"]
    ]
    assert field(memo, "total") == "75.00" and field(memo, "remaining") == "0.00"
    assert rows(memo, "payments") == [["Payment", books.credit_payment, "11/11/2025", "75.00"]]
    assert links(memo, "payments") == [f"/app/{conn.realm_id}/payment/{books.credit_payment}"]


def test_voided_invoice_says_voided(emu: EmulatorProcess, conn: Connected, books: Books) -> None:
    body = {
        "CustomerRef": {"value": books.customer},
        "DocNumber": "INV-8",
        "TxnDate": "2025-11-12",
        "Line": [item_line("1", "2", "40.00", "80.00")],
    }
    doc = created(conn, "invoice", body)
    open_page = page(emu, conn.realm_id, f"invoice/{doc['Id']}")
    assert "Voided" not in open_page and field(open_page, "total") == "80.00"
    created(conn, "invoice", {"Id": doc["Id"], "SyncToken": doc["SyncToken"]}, operation="void")
    voided = page(emu, conn.realm_id, f"invoice/{doc['Id']}")
    assert re.search(r'<p class="voided">.*Voided.*</p>', voided)
    assert field(voided, "total") == "0.00" and field(voided, "balance") == "0.00"
    assert rows(voided, "lines") == [["1", "Services", "", "", "40.00", "0.00"]]


def test_customer_page_rows_open_their_documents(
    emu: EmulatorProcess, conn: Connected, books: Books
) -> None:
    realm = conn.realm_id
    listing = page(emu, realm, "")
    assert f'href="/app/{realm}/customer/{books.customer}"' in listing
    customer = page(emu, realm, f"customer/{books.customer}")
    hrefs = links(customer, "transactions")
    for expected in (
        f"/app/{realm}/invoice/{books.invoice}",
        f"/app/{realm}/payment/{books.payment}",
        f"/app/{realm}/creditmemo/{books.memo}",
        f"/app/{realm}/payment/{books.credit_payment}",
    ):
        assert expected in hrefs
    for href in hrefs:
        opened = page(emu, realm, href.removeprefix(f"/app/{realm}/"))
        heading = re.search(r"<h1>(.*?)</h1>", opened)
        assert heading is not None
        kind = {"invoice": "Invoice", "payment": "Payment", "creditmemo": "Credit Memo"}
        assert heading.group(1).startswith(kind[href.split("/")[3]] + " "), href


def test_unknown_documents_answer_404(emu: EmulatorProcess, conn: Connected, books: Books) -> None:
    base = f"{emu.base_url}/app/{conn.realm_id}"
    doc = created(
        conn,
        "invoice",
        {"CustomerRef": {"value": books.customer}, "Line": [item_line("1", "1", "5.00", "5.00")]},
    )
    created(conn, "invoice", {"Id": doc["Id"], "SyncToken": doc["SyncToken"]}, operation="delete")
    for path in (
        "invoice/999999",
        f"invoice/{doc['Id']}",  # deleted
        "invoice/abc",
        "payment/999999",
        f"payment/{books.invoice}x",
        "creditmemo/999999",
        "creditmemo/0",
    ):
        assert requests.get(f"{base}/{path}", timeout=5).status_code == 404, path
    other = f"{emu.base_url}/app/123/invoice/{books.invoice}"
    assert requests.get(other, timeout=5).status_code == 404
