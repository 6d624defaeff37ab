"""Invoices, payments and credit memos: totals, DocNumber, references, balances (§11 items 6-9)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from qbo_emulator.testing import EmulatorProcess
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException, ValidationException
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.paymentmethod import PaymentMethod

if TYPE_CHECKING:
    from conftest import Connected

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def widget(conn: Connected) -> Item:
    income = Account.where("Name = 'Sales of Product Income'", qb=conn.qb)[0]
    item = Item()
    item.Name = "Widget"
    item.Type = "NonInventory"
    item.UnitPrice = 50
    item.IncomeAccountRef = income.to_ref()
    saved: Item = item.save(qb=conn.qb)
    return saved


def customer(conn: Connected, name: str) -> Customer:
    c = Customer()
    c.DisplayName = name
    saved: Customer = c.save(qb=conn.qb)
    return saved


def item_line(item: Item, amount: Any, qty: Any = 0, price: Any = 0) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = amount
    line.Description = "Widget"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = qty
    line.SalesItemLineDetail.UnitPrice = price
    return line


def invoice(
    conn: Connected, cust: Customer, lines: list[SalesItemLine], doc: str | None = None, **kw: Any
) -> Invoice:
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.Line = lines
    if doc is not None:
        inv.DocNumber = doc
    saved: Invoice = inv.save(qb=conn.qb, **kw)
    return saved


def pay(conn: Connected, cust: Customer, total: Any, links: list[tuple[str, str, Any]]) -> Payment:
    payment = Payment()
    payment.CustomerRef = cust.to_ref()
    payment.TotalAmt = total
    payment.Line = []
    for txn_type, txn_id, amount in links:
        line = PaymentLine()
        line.Amount = amount
        linked = LinkedTxn()
        linked.TxnId = txn_id
        linked.TxnType = txn_type
        line.LinkedTxn = [linked]
        payment.Line.append(line)
    saved: Payment = payment.save(qb=conn.qb)
    return saved


def balance(conn: Connected, cust: Customer) -> Decimal:
    return Decimal(str(Customer.get(cust.Id, qb=conn.qb).Balance))


def code(err: pytest.ExceptionInfo[QuickbooksException]) -> int:
    return int(err.value.error_code)


def test_invoice_totals_and_appended_subtotal_line(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Totals Inc")
    inv = invoice(conn, cust, [item_line(widget, 150, 3, 50), item_line(widget, 20.5)], "T-1")
    raw = conn.raw("GET", f"invoice/{inv.Id}").json()["Invoice"]
    assert raw["TotalAmt"] == 170.5 and raw["Balance"] == 170.5
    assert [line["DetailType"] for line in raw["Line"]] == [
        "SalesItemLineDetail",
        "SalesItemLineDetail",
        "SubTotalLineDetail",
    ]
    assert raw["Line"][-1] == {
        "Amount": 170.5,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert [line["Id"] for line in raw["Line"][:2]] == ["1", "2"]
    assert raw["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {
        "value": widget.Id,
        "name": "Widget",
    }
    assert raw["CustomerRef"]["name"] == "Totals Inc"
    assert raw["DocNumber"] == "T-1" and raw["DueDate"] == raw["TxnDate"]
    assert balance(conn, cust) == Decimal("170.5")


def test_update_with_the_subtotal_line_sent_back(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Round Trip Co")
    inv = invoice(conn, cust, [item_line(widget, 100)])
    inv.Line[0].Amount = 80
    again = inv.save(qb=conn.qb)
    assert again.TotalAmt == 80 and again.SyncToken == "1"
    assert sum(1 for line in again.Line if line.DetailType == "SubTotalLineDetail") == 1
    assert balance(conn, cust) == Decimal(80)


def test_amount_must_equal_qty_times_unit_price(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Bad Math Ltd")
    with pytest.raises(QuickbooksException) as err:
        invoice(conn, cust, [item_line(widget, 149, 3, 50)])
    assert code(err) == 6070


def test_invoice_requires_customer_and_lines(conn: Connected, widget: Item) -> None:
    inv = Invoice()
    inv.Line = [item_line(widget, 5)]
    with pytest.raises(ValidationException) as err:
        inv.save(qb=conn.qb)
    assert code(err) == 2020
    inv = Invoice()
    inv.CustomerRef = customer(conn, "No Lines Co").to_ref()
    with pytest.raises(ValidationException) as err2:
        inv.save(qb=conn.qb)
    assert code(err2) == 2020 and "Line" in err2.value.detail


def test_doc_number_limit_is_21_characters(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Long Numbers")
    ok = invoice(conn, cust, [item_line(widget, 1)], "N" * 21)
    assert ok.DocNumber == "N" * 21
    with pytest.raises(ValidationException) as err:
        invoice(conn, cust, [item_line(widget, 1)], "M" * 22)
    assert code(err) == 2050


def test_doc_number_unique_per_type(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Dup Numbers")
    first = invoice(conn, cust, [item_line(widget, 1)], "S409")
    with pytest.raises(QuickbooksException) as err:
        invoice(conn, cust, [item_line(widget, 2)], "S409")
    assert code(err) == 6140
    assert f"TxnId={first.Id}" in err.value.detail
    memo = CreditMemo()
    memo.CustomerRef = cust.to_ref()
    memo.Line = [item_line(widget, 1)]
    memo.DocNumber = "S409"
    assert memo.save(qb=conn.qb).DocNumber == "S409"
    dup = invoice(
        conn,
        cust,
        [item_line(widget, 3)],
        "S409",
        params={"include": "allowduplicatedocnum"},
    )
    assert dup.DocNumber == "S409" and dup.Id != first.Id


def test_custom_transaction_numbers_preference(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Numbering Co")
    assert invoice(conn, cust, [item_line(widget, 1)]).DocNumber is None
    prefs = conn.raw("GET", "preferences").json()["Preferences"]
    body = {
        "Id": prefs["Id"],
        "SyncToken": prefs["SyncToken"],
        "sparse": True,
        "SalesFormsPrefs": {"CustomTxnNumbers": False},
    }
    assert conn.raw("POST", "preferences", json=body).status_code == 200
    try:
        first = invoice(conn, cust, [item_line(widget, 1)])
        second = invoice(conn, cust, [item_line(widget, 1)])
        assert first.DocNumber == "1001" and second.DocNumber == "1002"
    finally:
        prefs = conn.raw("GET", "preferences").json()["Preferences"]
        body["SyncToken"] = prefs["SyncToken"]
        body["SalesFormsPrefs"] = {"CustomTxnNumbers": True}
        conn.raw("POST", "preferences", json=body)


def test_invalid_and_inactive_references(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Ref Checks")
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    inv.CustomerRef.value = "99999"
    inv.Line = [item_line(widget, 1)]
    with pytest.raises(ValidationException) as err:
        inv.save(qb=conn.qb)
    assert code(err) == 2500
    gone = Item()
    gone.Name = "Retired Item"
    gone.Type = "Service"
    gone.IncomeAccountRef = widget.IncomeAccountRef
    gone = gone.save(qb=conn.qb)
    body = {"Id": gone.Id, "SyncToken": gone.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Item", json.dumps(body))
    with pytest.raises(ObjectNotFoundException) as err2:
        invoice(conn, cust, [item_line(gone, 1)])
    assert code(err2) == 610
    sleeper = customer(conn, "Inactive Buyer")
    body = {"Id": sleeper.Id, "SyncToken": sleeper.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Customer", json.dumps(body))
    with pytest.raises(ObjectNotFoundException):
        invoice(conn, sleeper, [item_line(widget, 1)])


def test_payment_applies_to_invoice_and_leaves_unapplied(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Payer One")
    inv = invoice(conn, cust, [item_line(widget, 150, 3, 50)], "P-1")
    payment = pay(conn, cust, 200, [("Invoice", inv.Id, 150)])
    assert payment.UnappliedAmt == 50
    assert payment.DepositToAccountRef.name == "Undeposited Funds"
    after = Invoice.get(inv.Id, qb=conn.qb)
    assert after.Balance == 0 and after.TotalAmt == 150
    assert [(t.TxnId, t.TxnType) for t in after.LinkedTxn] == [(payment.Id, "Payment")]
    assert after.SyncToken == "1"
    assert balance(conn, cust) == Decimal(-50)


def test_partial_payments_and_customer_balance(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Payer Two")
    a = invoice(conn, cust, [item_line(widget, 100)], "P-2a")
    b = invoice(conn, cust, [item_line(widget, 60.25)], "P-2b")
    assert balance(conn, cust) == Decimal("160.25")
    pay(conn, cust, 70, [("Invoice", a.Id, 40), ("Invoice", b.Id, 30)])
    assert Invoice.get(a.Id, qb=conn.qb).Balance == 60
    assert Invoice.get(b.Id, qb=conn.qb).Balance == 30.25
    assert balance(conn, cust) == Decimal("90.25")


def test_payment_cannot_exceed_open_balance_or_total(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Over Payer")
    inv = invoice(conn, cust, [item_line(widget, 10)])
    with pytest.raises(QuickbooksException) as err:
        pay(conn, cust, 20, [("Invoice", inv.Id, 20)])
    assert code(err) == 6000
    with pytest.raises(QuickbooksException) as err2:
        pay(conn, cust, 5, [("Invoice", inv.Id, 10)])
    assert code(err2) == 6000
    assert balance(conn, cust) == Decimal(10)


def test_payment_for_another_customers_invoice_is_refused(conn: Connected, widget: Item) -> None:
    owner = customer(conn, "Invoice Owner")
    stranger = customer(conn, "Stranger Payer")
    inv = invoice(conn, owner, [item_line(widget, 10)])
    with pytest.raises(QuickbooksException) as err:
        pay(conn, stranger, 10, [("Invoice", inv.Id, 10)])
    assert code(err) == 6000


def test_deposit_account_and_payment_method(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Check Payer")
    inv = invoice(conn, cust, [item_line(widget, 25)])
    checking = Account.where("Name = 'Checking'", qb=conn.qb)[0]
    check = PaymentMethod.where("Name = 'Check'", qb=conn.qb)[0]
    payment = Payment()
    payment.CustomerRef = cust.to_ref()
    payment.TotalAmt = 25
    payment.DepositToAccountRef = checking.to_ref()
    payment.PaymentMethodRef = check.to_ref()
    payment.PaymentRefNum = "R003"
    line = PaymentLine()
    line.Amount = 25
    linked = LinkedTxn()
    linked.TxnId, linked.TxnType = inv.Id, "Invoice"
    line.LinkedTxn = [linked]
    payment.Line = [line]
    saved = payment.save(qb=conn.qb)
    assert saved.DepositToAccountRef.value == checking.Id
    assert saved.PaymentMethodRef.name == "Check" and saved.PaymentRefNum == "R003"
    income = Account.where("Name = 'Services'", qb=conn.qb)[0]
    payment.DepositToAccountRef = income.to_ref()
    payment.Line = []
    with pytest.raises(QuickbooksException) as err:
        payment.save(qb=conn.qb)
    assert code(err) == 6000


def test_unapplied_payment_is_a_credit_on_the_customer(conn: Connected) -> None:
    cust = customer(conn, "Prepayer")
    payment = pay(conn, cust, 75, [])
    assert payment.UnappliedAmt == 75
    assert balance(conn, cust) == Decimal(-75)


def test_credit_memo_applied_through_zero_amount_payment(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Credit User")
    inv = invoice(conn, cust, [item_line(widget, 100)], "C-1")
    memo = CreditMemo()
    memo.CustomerRef = cust.to_ref()
    memo.Line = [item_line(widget, 30)]
    memo = memo.save(qb=conn.qb)
    assert memo.RemainingCredit == 30 and memo.TotalAmt == 30
    assert balance(conn, cust) == Decimal(70)
    payment = pay(conn, cust, 0, [("Invoice", inv.Id, 30), ("CreditMemo", memo.Id, 30)])
    assert payment.TotalAmt == 0 and payment.UnappliedAmt == 0
    assert Invoice.get(inv.Id, qb=conn.qb).Balance == 70
    assert CreditMemo.get(memo.Id, qb=conn.qb).RemainingCredit == 0
    assert balance(conn, cust) == Decimal(70)
    with pytest.raises(QuickbooksException) as err:
        pay(conn, cust, 0, [("Invoice", inv.Id, 10), ("CreditMemo", memo.Id, 10)])
    assert code(err) == 6000


def test_delete_payment_restores_balances(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Undo Payer")
    inv = invoice(conn, cust, [item_line(widget, 40)])
    payment = pay(conn, cust, 40, [("Invoice", inv.Id, 40)])
    assert balance(conn, cust) == 0
    result = payment.delete(qb=conn.qb)
    assert result["Payment"]["status"] == "Deleted"
    assert Invoice.get(inv.Id, qb=conn.qb).Balance == 40
    assert balance(conn, cust) == Decimal(40)
    with pytest.raises(ObjectNotFoundException):
        Payment.get(payment.Id, qb=conn.qb)


def test_void_payment_and_invoice(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Void Tester")
    inv = invoice(conn, cust, [item_line(widget, 40)], "V-1")
    payment = pay(conn, cust, 40, [("Invoice", inv.Id, 40)])
    with pytest.raises(QuickbooksException) as err:
        Invoice.get(inv.Id, qb=conn.qb).void(qb=conn.qb)
    assert code(err) == 6000
    payment.void(qb=conn.qb)
    voided = Payment.get(payment.Id, qb=conn.qb)
    assert voided.TotalAmt == 0 and voided.PrivateNote == "Voided"
    assert balance(conn, cust) == Decimal(40)
    Invoice.get(inv.Id, qb=conn.qb).void(qb=conn.qb)
    gone = Invoice.get(inv.Id, qb=conn.qb)
    assert gone.TotalAmt == 0 and gone.Balance == 0 and gone.DocNumber == "V-1"
    assert balance(conn, cust) == 0


def test_delete_invoice_with_payment_refused_then_allowed(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Delete Tester")
    inv = invoice(conn, cust, [item_line(widget, 15)])
    payment = pay(conn, cust, 15, [("Invoice", inv.Id, 15)])
    with pytest.raises(QuickbooksException) as err:
        Invoice.get(inv.Id, qb=conn.qb).delete(qb=conn.qb)
    assert code(err) == 6000
    payment.delete(qb=conn.qb)
    Invoice.get(inv.Id, qb=conn.qb).delete(qb=conn.qb)
    assert balance(conn, cust) == 0


def test_stale_invoice_after_payment_applied(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Stale Invoice")
    inv = invoice(conn, cust, [item_line(widget, 50)])
    pay(conn, cust, 20, [("Invoice", inv.Id, 20)])
    inv.PrivateNote = "edited with an old SyncToken"
    with pytest.raises(QuickbooksException) as err:
        inv.save(qb=conn.qb)
    assert code(err) == 5010
    fresh = Invoice.get(inv.Id, qb=conn.qb)
    fresh.Line[0].Amount = 10
    with pytest.raises(QuickbooksException) as err2:
        fresh.save(qb=conn.qb)
    assert code(err2) == 6000


def test_customer_balance_invariant_holds_for_everyone(conn: Connected) -> None:
    """Customer.Balance == open invoice balances - unapplied payments - remaining credits."""
    customers = Customer.where("Active IN (true, false)", max_results=1000, qb=conn.qb)
    invoices = Invoice.all(max_results=1000, qb=conn.qb)
    payments = Payment.all(max_results=1000, qb=conn.qb)
    memos = CreditMemo.all(max_results=1000, qb=conn.qb)
    checked = 0
    for cust in customers:
        expected = (
            sum(Decimal(str(i.Balance)) for i in invoices if i.CustomerRef.value == cust.Id)
            - sum(Decimal(str(p.UnappliedAmt)) for p in payments if p.CustomerRef.value == cust.Id)
            - sum(Decimal(str(m.RemainingCredit)) for m in memos if m.CustomerRef.value == cust.Id)
        )
        assert Decimal(str(cust.Balance)) == expected, cust.DisplayName
        checked += 1 if expected else 0
    assert checked >= 5


def test_line_collections_are_replaced_all_or_nothing(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Line Rules")
    inv = invoice(conn, cust, [item_line(widget, 10), item_line(widget, 20)])
    sparse = {"Id": inv.Id, "SyncToken": inv.SyncToken, "sparse": True, "PrivateNote": "memo"}
    kept = conn.raw("POST", "invoice", json=sparse).json()["Invoice"]
    assert kept["TotalAmt"] == 30 and len(kept["Line"]) == 3
    one_line = {
        "Id": inv.Id,
        "SyncToken": kept["SyncToken"],
        "sparse": True,
        "Line": [kept["Line"][1]],
    }
    replaced = conn.raw("POST", "invoice", json=one_line).json()["Invoice"]
    assert replaced["TotalAmt"] == 20 and [ln.get("Id") for ln in replaced["Line"][:-1]] == ["2"]
    assert replaced["PrivateNote"] == "memo"
    new_line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 7,
        "SalesItemLineDetail": {"ItemRef": {"value": widget.Id}},
    }
    body = {
        "Id": inv.Id,
        "SyncToken": replaced["SyncToken"],
        "sparse": True,
        "Line": [replaced["Line"][0], new_line],
    }
    grown = conn.raw("POST", "invoice", json=body).json()["Invoice"]
    assert [ln.get("Id") for ln in grown["Line"][:-1]] == ["2", "3"]
    assert grown["TotalAmt"] == 27 and balance(conn, cust) == Decimal(27)


def test_minorversion_and_format_are_accepted(conn: Connected) -> None:
    for params in ({"minorversion": "4"}, {"minorversion": "75", "format": "json"}):
        answer = conn.raw("GET", f"companyinfo/{conn.realm_id}", params=params)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")


def test_inventory_items_need_their_extra_fields(conn: Connected) -> None:
    accounts = {a.Name: a for a in Account.all(qb=conn.qb, max_results=1000)}
    item = Item()
    item.Name = "Stocked Thing"
    item.Type = "Inventory"
    item.IncomeAccountRef = accounts["Sales of Product Income"].to_ref()
    with pytest.raises(ValidationException) as err:
        item.save(qb=conn.qb)
    assert code(err) == 2020
    item.AssetAccountRef = accounts["Inventory Asset"].to_ref()
    item.ExpenseAccountRef = accounts["Cost of Goods Sold"].to_ref()
    item.QtyOnHand = 5
    item.InvStartDate = "2026-01-01"
    item.TrackQtyOnHand = True
    saved = item.save(qb=conn.qb)
    assert saved.Type == "Inventory" and saved.QtyOnHand == 5
    saved.TrackQtyOnHand = False
    with pytest.raises(QuickbooksException) as err2:
        saved.save(qb=conn.qb)
    assert code(err2) == 6000


def test_sync_tokens_follow_every_payment_change(
    emu: EmulatorProcess, conn: Connected, widget: Item
) -> None:
    """Field notes §0.1: applying, changing, unapplying, voiding or deleting a payment."""
    cust = customer(conn, "Token Watcher")
    inv = invoice(conn, cust, [item_line(widget, 100)])
    memo = CreditMemo()
    memo.CustomerRef = cust.to_ref()
    memo.Line = [item_line(widget, 10)]
    memo.DocNumber = None
    memo = memo.save(qb=conn.qb)

    def tokens() -> tuple[int, int]:
        return (
            int(Invoice.get(inv.Id, qb=conn.qb).SyncToken),
            int(CreditMemo.get(memo.Id, qb=conn.qb).SyncToken),
        )

    assert tokens() == (0, 0)
    applied = pay(conn, cust, 30, [("Invoice", inv.Id, 40), ("CreditMemo", memo.Id, 10)])
    assert tokens() == (1, 1)
    applied.Line[0].Amount = 50
    applied.TotalAmt = 40
    applied = applied.save(qb=conn.qb)
    assert tokens() == (2, 1) and Invoice.get(inv.Id, qb=conn.qb).Balance == 50
    applied.Line = []
    applied = applied.save(qb=conn.qb)
    assert tokens() == (3, 2) and applied.UnappliedAmt == 40
    second = pay(conn, cust, 20, [("Invoice", inv.Id, 20)])
    assert tokens() == (4, 2)
    second.void(qb=conn.qb)
    assert tokens() == (5, 2)
    third = pay(conn, cust, 5, [("Invoice", inv.Id, 5)])
    third.delete(qb=conn.qb)
    assert tokens() == (7, 2)


def test_invoice_update_after_payment_needs_the_reread_token(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Reread Invoice")
    inv = invoice(conn, cust, [item_line(widget, 100)])
    pay(conn, cust, 60, [("Invoice", inv.Id, 60)])
    inv.PrivateNote = "sent with the token from the create"
    with pytest.raises(QuickbooksException) as err:
        inv.save(qb=conn.qb)
    assert code(err) == 5010
    fresh = Invoice.get(inv.Id, qb=conn.qb)
    assert fresh.SyncToken == "1"
    fresh.PrivateNote = "sent with the re-read token"
    saved = fresh.save(qb=conn.qb)
    assert saved.SyncToken == "2" and saved.PrivateNote == "sent with the re-read token"
    assert saved.Balance == 40 and [t.TxnId for t in saved.LinkedTxn] != []


def test_overpayment_is_kept_as_unapplied_credit(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Generous Payer")
    inv = invoice(conn, cust, [item_line(widget, 100)])
    payment = pay(conn, cust, 150, [("Invoice", inv.Id, 100)])
    assert Invoice.get(inv.Id, qb=conn.qb).Balance == 0
    assert Payment.get(payment.Id, qb=conn.qb).UnappliedAmt == 50
    assert balance(conn, cust) == Decimal(-50)
    with pytest.raises(QuickbooksException) as err:
        pay(conn, cust, 10, [("Invoice", inv.Id, 10)])
    assert code(err) == 6000, "a line above the invoice's open balance stays refused"


def test_amount_check_reports_every_bad_line(conn: Connected, widget: Item) -> None:
    cust = customer(conn, "Sloppy Math")
    rounded = invoice(conn, cust, [item_line(widget, 100, 3, Decimal("33.333"))])
    assert rounded.TotalAmt == 100, "Qty x UnitPrice is compared after rounding to cents"
    lines = [item_line(widget, 58, 2, 30), item_line(widget, 5), item_line(widget, 7, 7, 2)]
    with pytest.raises(QuickbooksException) as err:
        invoice(conn, cust, lines)
    assert code(err) == 6070
    assert err.value.message == "Amount calculation incorrect in the request."
    assert err.value.detail == "Amount is not equal to UnitPrice * Qty. Supplied value:58"
    body = json.loads(Invoice.from_json({"CustomerRef": {"value": cust.Id}}).to_json())
    body["Line"] = [json.loads(ln.to_json()) for ln in lines]
    errors = conn.raw("POST", "invoice", json=body).json()["Fault"]["Error"]
    assert [(e["code"], e["element"]) for e in errors] == [("6070", "Line.Amount")] * 2
    assert errors[1]["Detail"].endswith("Supplied value:7")


def test_inactive_references_are_refused_until_reactivated(
    emu: EmulatorProcess, conn: Connected, widget: Item
) -> None:
    message = (
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    cust = customer(conn, "Sleeping Customer")
    inv = invoice(conn, cust, [item_line(widget, 10)])
    spare = Item()
    spare.Name = "Sleeping Item"
    spare.Type = "Service"
    spare.IncomeAccountRef = widget.IncomeAccountRef
    spare = spare.save(qb=conn.qb)
    emu.deactivate(conn.realm_id, "Customer", cust.Id)
    emu.deactivate(conn.realm_id, "Item", spare.Id)
    awake = customer(conn, "Awake Customer")
    memo = CreditMemo()
    memo.CustomerRef = awake.to_ref()
    memo.Line = [item_line(spare, 3)]
    memo.DocNumber = None
    attempts = [
        lambda: invoice(conn, cust, [item_line(widget, 5)]),
        lambda: invoice(conn, awake, [item_line(spare, 5)]),
        lambda: memo.save(qb=conn.qb),
        lambda: pay(conn, cust, 10, [("Invoice", inv.Id, 10)]),
    ]
    for attempt in attempts:
        with pytest.raises(ObjectNotFoundException) as err:
            attempt()
        assert code(err) == 610 and err.value.message == message
    raw = conn.raw("POST", "creditmemo", json=json.loads(memo.to_json())).json()
    assert raw["Fault"]["Error"][0]["element"] == ""
    for kind, entity in (("Customer", cust), ("Item", spare)):
        current = conn.raw("GET", f"{kind.lower()}/{entity.Id}").json()[kind]
        assert current["Active"] is False
        body = {"Id": entity.Id, "SyncToken": current["SyncToken"], "sparse": True, "Active": True}
        conn.qb.update_object(kind, json.dumps(body))
    assert invoice(conn, cust, [item_line(spare, 5)]).TotalAmt == 5
    assert memo.save(qb=conn.qb).TotalAmt == 3
    assert pay(conn, cust, 10, [("Invoice", inv.Id, 10)]).UnappliedAmt == 0
