"""Per-company settings (control API): the books' closing date (6210), automated sales tax, and
the Preferences that show them, read back through python-quickbooks."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests
from qbo_emulator.testing import EmulatorProcess
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.tax import TxnTaxDetail

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = pytest.mark.conformance
CLOSED_MESSAGE = "Account Period Closed, Cannot Update Through Services API"
CLOSED_DETAIL = (
    "The account period has closed and the account books cannot be updated through the QBO "
    "Services API. Please use the QBO website to make these changes."
)


@pytest.fixture(autouse=True)
def default_settings(emu: EmulatorProcess, conn: Connected) -> Iterator[None]:
    yield
    emu.set_company(conn.realm_id, automated_sales_tax=False, book_close_date=None, ast_rate="8.25")


@pytest.fixture(scope="module")
def service(conn: Connected) -> Item:
    item: Item = Item.where("Name = 'Services'", qb=conn.qb)[0]
    return item


def customer(conn: Connected, name: str) -> Customer:
    c = Customer()
    c.DisplayName = name
    saved: Customer = c.save(qb=conn.qb)
    return saved


def line(item: Item, amount: Any, tax_code: str | None = None) -> SalesItemLine:
    sales = SalesItemLine()
    sales.Amount = amount
    sales.SalesItemLineDetail = SalesItemLineDetail()
    sales.SalesItemLineDetail.ItemRef = item.to_ref()
    if tax_code is not None:
        sales.SalesItemLineDetail.TaxCodeRef = {"value": tax_code}
    return sales


def invoice(
    conn: Connected, cust: Customer, lines: list[SalesItemLine], date: str | None = None
) -> Invoice:
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line = lines
    if date is not None:
        inv.TxnDate = date
    saved: Invoice = inv.save(qb=conn.qb)
    return saved


def payment(conn: Connected, cust: Customer, inv: Invoice, amount: Any, date: str) -> Payment:
    pay = Payment()
    pay.CustomerRef = cust.to_ref()
    pay.TotalAmt = amount
    pay.TxnDate = date
    applied = PaymentLine()
    applied.Amount = amount
    linked = LinkedTxn()
    linked.TxnId, linked.TxnType = inv.Id, "Invoice"
    applied.LinkedTxn = [linked]
    pay.Line = [applied]
    saved: Payment = pay.save(qb=conn.qb)
    return saved


def assert_closed(err: pytest.ExceptionInfo[QuickbooksException]) -> None:
    assert int(err.value.error_code) == 6210
    assert err.value.message == CLOSED_MESSAGE
    assert err.value.detail == CLOSED_DETAIL


def test_company_settings_through_the_control_api(emu: EmulatorProcess, conn: Connected) -> None:
    realm = conn.realm_id
    assert emu.company_settings(realm) == {
        "realmId": realm,
        "automated_sales_tax": False,
        "book_close_date": None,
        "ast_rate": "8.25",
    }
    changed = emu.set_company(realm, book_close_date="2024-12-31", automated_sales_tax=True)
    assert changed["book_close_date"] == "2024-12-31" and changed["automated_sales_tax"]
    assert emu.set_company(realm, ast_rate="7.5") == {**changed, "ast_rate": "7.5"}
    assert emu.company_settings(realm)["book_close_date"] == "2024-12-31", "left as it was"
    assert emu.set_company(realm, book_close_date=None)["book_close_date"] is None
    url = f"{emu.base_url}/_emulator/company"
    for bad in (
        {"book_close_date": "31/12/2024"},
        {"automated_sales_tax": "yes"},
        {"ast_rate": "lots"},
        {"ast_rate": "101"},
    ):
        answer = requests.post(url, json={"realmId": realm, **bad}, timeout=10)
        assert answer.status_code == 400, bad
    assert requests.get(url, params={"realmId": "nope"}, timeout=10).status_code == 400


def test_settings_live_in_the_shared_database(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    emu.set_company(conn.realm_id, book_close_date="2023-06-30", ast_rate="6")
    with EmulatorProcess(db_path=emu.db_path, clients=[kit.CLIENT], control=True) as second:
        assert second.company_settings(conn.realm_id)["book_close_date"] == "2023-06-30"
        second.set_company(conn.realm_id, automated_sales_tax=True)
    assert emu.company_settings(conn.realm_id) == {
        "realmId": conn.realm_id,
        "automated_sales_tax": True,
        "book_close_date": "2023-06-30",
        "ast_rate": "6",
    }


def test_preferences_are_complete(conn: Connected) -> None:
    prefs = Preferences.get(qb=conn.qb)
    assert prefs.Id == "1" and prefs.SyncToken.isdigit() and prefs.MetaData["CreateTime"]
    info = prefs.AccountingInfoPrefs
    assert info.TaxYearMonth == "January" and info.FirstMonthOfFiscalYear == "January"
    assert info.TrackDepartments is False and info.CustomerTerminology == "Customers"
    assert info.ClassTrackingPerTxn is False and info.ClassTrackingPerTxnLine is False
    products = prefs.ProductAndServicesPrefs
    assert products.ForSales is True and products.ForPurchase is True
    assert products.QuantityWithPriceAndRate is True and products.QuantityOnHand is True
    forms = prefs.SalesFormsPrefs
    assert forms.CustomTxnNumbers is True and forms.AutoApplyCredit is False
    assert forms.AllowDiscount is True and forms.AllowDeposit is False
    assert forms.AllowShipping is False and forms.DefaultTerms.value == "3"
    messages = prefs.EmailMessagesPrefs
    for message in (
        messages.InvoiceMessage,
        messages.EstimateMessage,
        messages.SalesReceiptMessage,
        messages.StatementMessage,
    ):
        assert message.Subject.endswith("from Company A") and "Company A" in message.Message
    vendors = prefs.VendorAndPurchasesPrefs
    assert vendors.BillableExpenseTracking is True and vendors.TrackingByCustomer is True
    assert len(vendors.POCustomField) == 2
    time = prefs.TimeTrackingPrefs
    assert time.WorkWeekStartDate == "Monday" and time.UseServices is True
    assert time.BillCustomers is True and time.ShowBillRateToAll is False
    assert time.MarkTimeEntriesBillable is True
    assert prefs.TaxPrefs.UsingSalesTax is False and prefs.TaxPrefs.PartnerTaxEnabled is False
    assert prefs.CurrencyPrefs.MultiCurrencyEnabled is False
    assert prefs.CurrencyPrefs.HomeCurrency.value == "USD"
    assert prefs.ReportPrefs.ReportBasis == "Accrual"
    names = [pair.Name for pair in prefs.OtherPrefs.NameValue]
    assert names[0] == "SalesFormsPrefs.DefaultCustomerMessage"
    assert {"SalesFormsPrefs.DefaultItem", "DTXCopyMemo"} <= set(names)
    raw = conn.raw("GET", "preferences").json()["Preferences"]
    assert "BookCloseDate" not in raw["AccountingInfoPrefs"]
    queried = conn.qb.query("select * from Preferences")["QueryResponse"]["Preferences"]
    assert queried == [raw]


def test_preferences_show_the_company_settings(emu: EmulatorProcess, conn: Connected) -> None:
    before = Preferences.get(qb=conn.qb)
    emu.set_company(conn.realm_id, book_close_date="2024-12-31", automated_sales_tax=True)
    after = Preferences.get(qb=conn.qb)
    assert after.AccountingInfoPrefs.BookCloseDate == "2024-12-31"
    assert after.TaxPrefs.PartnerTaxEnabled is True and after.TaxPrefs.UsingSalesTax is True
    assert int(after.SyncToken) == int(before.SyncToken) + 1
    emu.set_company(conn.realm_id, book_close_date=None, automated_sales_tax=False)
    raw = conn.raw("GET", "preferences").json()["Preferences"]
    assert "BookCloseDate" not in raw["AccountingInfoPrefs"]
    assert raw["TaxPrefs"] == {"UsingSalesTax": False, "PartnerTaxEnabled": False}


def test_preferences_update_keeps_read_only_fields(emu: EmulatorProcess, conn: Connected) -> None:
    emu.set_company(conn.realm_id, book_close_date="2024-12-31")
    prefs = Preferences.get(qb=conn.qb)
    prefs.EmailMessagesPrefs.EstimateMessage.Subject = "Your estimate, fresh"
    prefs.AccountingInfoPrefs.BookCloseDate = "2001-01-01"
    prefs.TaxPrefs.PartnerTaxEnabled = True
    prefs.CurrencyPrefs.MultiCurrencyEnabled = True
    prefs.SalesFormsPrefs.CustomTxnNumbers = False
    saved = prefs.save(qb=conn.qb)
    try:
        again = Preferences.get(qb=conn.qb)
        assert saved.SyncToken == again.SyncToken == str(int(prefs.SyncToken) + 1)
        assert again.EmailMessagesPrefs.EstimateMessage.Subject == "Your estimate, fresh"
        assert again.EmailMessagesPrefs.EstimateMessage.Message == (
            prefs.EmailMessagesPrefs.EstimateMessage.Message
        )
        assert again.SalesFormsPrefs.CustomTxnNumbers is False
        assert again.AccountingInfoPrefs.BookCloseDate == "2024-12-31"
        assert again.TaxPrefs.PartnerTaxEnabled is False
        assert again.CurrencyPrefs.MultiCurrencyEnabled is False
        raw = conn.raw("GET", "preferences").json()["Preferences"]
        assert "RevenueRecognition" not in raw["ProductAndServicesPrefs"], "not a QBO field"
    finally:
        again = Preferences.get(qb=conn.qb)
        again.SalesFormsPrefs.CustomTxnNumbers = True
        again.save(qb=conn.qb)


def test_closing_date_refuses_transactions_dated_on_or_before_it(
    emu: EmulatorProcess, conn: Connected, service: Item
) -> None:
    cust = customer(conn, "Closed Books Ltd")
    old = invoice(conn, cust, [line(service, 40)], "2024-11-15")
    paid = invoice(conn, cust, [line(service, 30)], "2024-12-01")
    old_payment = payment(conn, cust, paid, 30, "2024-12-02")
    emu.set_company(conn.realm_id, book_close_date="2024-12-31")
    with pytest.raises(QuickbooksException) as err:
        invoice(conn, cust, [line(service, 10)], "2024-12-31")
    assert_closed(err)
    fresh = invoice(conn, cust, [line(service, 10)], "2025-01-01")
    assert fresh.TxnDate == "2025-01-01"
    fresh.TxnDate = "2024-06-30"
    with pytest.raises(QuickbooksException) as err:
        fresh.save(qb=conn.qb)
    assert_closed(err)
    stored = Invoice.get(old.Id, qb=conn.qb)
    stored.TxnDate = "2025-02-01"
    with pytest.raises(QuickbooksException) as err:
        stored.save(qb=conn.qb)
    assert_closed(err)
    with pytest.raises(QuickbooksException) as err:
        stored.void(qb=conn.qb)
    assert_closed(err)
    with pytest.raises(QuickbooksException) as err:
        stored.delete(qb=conn.qb)
    assert_closed(err)
    with pytest.raises(QuickbooksException) as err:
        old_payment.delete(qb=conn.qb)
    assert_closed(err)
    with pytest.raises(QuickbooksException) as err:
        Payment.get(old_payment.Id, qb=conn.qb).void(qb=conn.qb)
    assert_closed(err)
    memo = CreditMemo()
    memo.CustomerRef = cust.to_ref()
    memo.Line = [line(service, 5)]
    memo.TxnDate = "2024-07-04"
    memo.DocNumber = None
    with pytest.raises(QuickbooksException) as err:
        memo.save(qb=conn.qb)
    assert_closed(err)
    assert Invoice.get(old.Id, qb=conn.qb).SyncToken == old.SyncToken
    assert Decimal(str(Customer.get(cust.Id, qb=conn.qb).Balance)) == Decimal(50)
    emu.set_company(conn.realm_id, book_close_date=None)
    assert Invoice.get(old.Id, qb=conn.qb).void(qb=conn.qb)


def test_open_period_payment_may_pay_an_invoice_of_a_closed_period(
    emu: EmulatorProcess, conn: Connected, service: Item
) -> None:
    cust = customer(conn, "Late Payer")
    old = invoice(conn, cust, [line(service, 80)], "2024-10-01")
    emu.set_company(conn.realm_id, book_close_date="2024-12-31")
    payment(conn, cust, old, 80, "2025-01-15")
    after = Invoice.get(old.Id, qb=conn.qb)
    assert after.Balance == 0 and after.SyncToken == "1"


def test_closing_date_inside_batch_items(
    emu: EmulatorProcess, conn: Connected, service: Item
) -> None:
    cust = customer(conn, "Batch Closer")
    emu.set_company(conn.realm_id, book_close_date="2024-12-31")
    closed, open_ = Invoice(), Invoice()
    for inv, date in ((closed, "2024-12-30"), (open_, "2025-01-02")):
        inv.CustomerRef = cust.to_ref()
        inv.Line = [line(service, 12)]
        inv.TxnDate = date
    result = batch_create([closed, open_], qb=conn.qb)
    assert [inv.TxnDate for inv in result.successes] == ["2025-01-02"]
    error = result.faults[0].Error[0]
    assert (error.code, error.Message, error.Detail) == ("6210", CLOSED_MESSAGE, CLOSED_DETAIL)


def test_automated_sales_tax_ignores_line_tax_codes(
    emu: EmulatorProcess, conn: Connected, service: Item
) -> None:
    emu.set_company(conn.realm_id, automated_sales_tax=True)
    cust = customer(conn, "Taxed Buyer")
    inv = invoice(conn, cust, [line(service, 100, "NON"), line(service, 50)])
    assert inv.TxnTaxDetail.TotalTax == 12.38, "150 x 8.25% = 12.375, half a cent rounds up"
    assert inv.TotalAmt == 162.38 and inv.Balance == 162.38
    raw = conn.raw("GET", f"invoice/{inv.Id}").json()["Invoice"]
    codes = [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in raw["Line"][:-1]]
    assert codes == ["TAX", "TAX"] and raw["Line"][-1]["Amount"] == 150
    assert Decimal(str(Customer.get(cust.Id, qb=conn.qb).Balance)) == Decimal("162.38")
    sparse = {"Id": inv.Id, "SyncToken": inv.SyncToken, "sparse": True, "Line": [raw["Line"][0]]}
    shrunk = conn.raw("POST", "invoice", json=sparse).json()["Invoice"]
    assert shrunk["TxnTaxDetail"]["TotalTax"] == 8.25 and shrunk["TotalAmt"] == 108.25
    emu.set_company(conn.realm_id, ast_rate="10")
    memo = CreditMemo()
    memo.CustomerRef = cust.to_ref()
    memo.Line = [line(service, 20)]
    memo.DocNumber = None
    memo = memo.save(qb=conn.qb)
    assert memo.TotalAmt == 22 and memo.RemainingCredit == 22
    assert memo.TxnTaxDetail.TotalTax == 2


def test_explicit_total_tax_is_honoured_under_automated_sales_tax(
    emu: EmulatorProcess, conn: Connected, service: Item
) -> None:
    emu.set_company(conn.realm_id, automated_sales_tax=True)
    cust = customer(conn, "Tax As Billed")
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line = [line(service, 100)]
    inv.TxnTaxDetail = TxnTaxDetail()
    inv.TxnTaxDetail.TotalTax = 0
    pinned = inv.save(qb=conn.qb)
    assert pinned.TotalAmt == 100 and pinned.TxnTaxDetail.TotalTax == 0
    body = {
        "CustomerRef": {"value": cust.Id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 100,
                "SalesItemLineDetail": {"ItemRef": {"value": service.Id}},
            }
        ],
        "TxnTaxDetail": {"TotalTax": 7.77},
    }
    billed = conn.raw("POST", "invoice", json=body).json()["Invoice"]
    assert billed["TotalAmt"] == 107.77 and billed["TxnTaxDetail"]["TotalTax"] == 7.77


def test_without_automated_sales_tax_total_tax_is_added_as_sent(
    conn: Connected, service: Item
) -> None:
    cust = customer(conn, "Manual Tax")
    plain = invoice(conn, cust, [line(service, 100)])
    assert plain.TotalAmt == 100
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line = [line(service, 100)]
    inv.TxnTaxDetail = TxnTaxDetail()
    inv.TxnTaxDetail.TotalTax = 4.5
    assert inv.save(qb=conn.qb).TotalAmt == 104.5
