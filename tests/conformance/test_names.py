"""Name lists over python-quickbooks: CRUD, sparse/full update, SyncToken, 6240, 2040, 2050."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from quickbooks.exceptions import (
    ObjectNotFoundException,
    QuickbooksException,
    UnsupportedException,
    ValidationException,
)
from quickbooks.objects.account import Account
from quickbooks.objects.base import Address, EmailAddress, PhoneNumber
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.employee import Employee
from quickbooks.objects.item import Item
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.vendor import Vendor

if TYPE_CHECKING:
    from conftest import Connected

pytestmark = pytest.mark.conformance


def new_customer(conn: Connected, name: str, **fields: object) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    for key, value in fields.items():
        setattr(customer, key, value)
    saved: Customer = customer.save(qb=conn.qb)
    return saved


def fault_code(exc: pytest.ExceptionInfo[QuickbooksException]) -> int:
    return int(exc.value.error_code)


def test_create_read_customer_with_python_quickbooks_defaults(conn: Connected) -> None:
    customer = Customer()
    customer.DisplayName = "Acme Ltd"
    customer.GivenName = "Ann"
    customer.FamilyName = "Lee"
    customer.PrimaryEmailAddr = EmailAddress()
    customer.PrimaryEmailAddr.Address = "ann@acme.test"
    customer.PrimaryPhone = PhoneNumber()
    customer.PrimaryPhone.FreeFormNumber = "(555) 010-2000"
    customer.BillAddr = Address()
    customer.BillAddr.Line1 = "1 Main St"
    customer.BillAddr.City = "Springfield"
    body = json.loads(customer.to_json())
    assert body["SyncToken"] == 0 and body["MiddleName"] == "" and body["Balance"] == 0
    saved = customer.save(qb=conn.qb)
    assert saved.Id.isdigit() and saved.SyncToken == "0"
    read = Customer.get(saved.Id, qb=conn.qb)
    assert read.DisplayName == "Acme Ltd"
    assert read.FullyQualifiedName == "Acme Ltd"
    assert read.PrimaryEmailAddr.Address == "ann@acme.test"
    assert read.BillAddr.City == "Springfield" and read.BillAddr.Id
    assert read.Balance == 0 and read.Active is True
    assert read.MetaData["CreateTime"].endswith(("-08:00", "-07:00"))
    raw = conn.raw("GET", f"customer/{saved.Id}").json()["Customer"]
    assert "MiddleName" not in raw and raw["domain"] == "QBO" and raw["sparse"] is False
    assert raw["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}


def test_display_name_built_from_name_parts(conn: Connected) -> None:
    customer = Customer()
    customer.GivenName = "Bob"
    customer.FamilyName = "Parts"
    saved = customer.save(qb=conn.qb)
    assert saved.DisplayName == "Bob Parts"


def test_sparse_update_changes_only_supplied_fields(conn: Connected) -> None:
    saved = new_customer(conn, "Sparse Co", CompanyName="Old Name", Notes="keep me")
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "CompanyName": "New"}
    result = conn.qb.update_object("Customer", json.dumps(body))["Customer"]
    assert result["CompanyName"] == "New"
    assert result["Notes"] == "keep me"
    assert result["SyncToken"] == "1"


def test_full_update_clears_omitted_fields(conn: Connected) -> None:
    saved = new_customer(conn, "Full Co", CompanyName="Gone Soon", Notes="gone too")
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "DisplayName": "Full Co"}
    result = conn.qb.update_object("Customer", json.dumps(body))["Customer"]
    assert "CompanyName" not in result and "Notes" not in result
    assert result["SyncToken"] == "1"


def test_node_style_update_operation_and_sparse(conn: Connected) -> None:
    saved = new_customer(conn, "Node Style", Notes="n")
    body = {"Id": saved.Id, "SyncToken": "0", "sparse": True, "Notes": "changed"}
    answer = conn.raw("POST", "customer", params={"operation": "update"}, json=body)
    assert answer.status_code == 200
    assert answer.json()["Customer"]["Notes"] == "changed"


def test_python_quickbooks_save_is_a_full_update(conn: Connected) -> None:
    saved = new_customer(conn, "Saved Twice")
    saved.CompanyName = "Twice Inc"
    again = saved.save(qb=conn.qb)
    assert again.SyncToken == "1" and again.CompanyName == "Twice Inc"


def test_stale_sync_token_is_5010(conn: Connected) -> None:
    saved = new_customer(conn, "Stale Co")
    first = Customer.get(saved.Id, qb=conn.qb)
    second = Customer.get(saved.Id, qb=conn.qb)
    first.Notes = "first"
    first.save(qb=conn.qb)
    second.Notes = "second"
    with pytest.raises(QuickbooksException) as err:
        second.save(qb=conn.qb)
    assert fault_code(err) == 5010
    assert "Stale Object Error" in err.value.message
    assert Customer.get(saved.Id, qb=conn.qb).Notes == "first"


def test_missing_sync_token_on_update_is_2020(conn: Connected) -> None:
    saved = new_customer(conn, "No Token Co")
    answer = conn.raw(
        "POST", "customer", params={"operation": "update"}, json={"Id": saved.Id, "Notes": "x"}
    )
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "2020"


@pytest.mark.parametrize("other", [Vendor, Employee])
def test_display_name_unique_across_vendor_and_employee(conn: Connected, other: type) -> None:
    person = other()
    person.DisplayName = f"Shared {other.__name__}"
    person.GivenName = "Sam"
    person.save(qb=conn.qb)
    with pytest.raises(QuickbooksException) as err:
        new_customer(conn, f"Shared {other.__name__}")
    assert fault_code(err) == 6240
    assert "Duplicate Name Exists Error" in err.value.message


def test_seeded_vendor_and_employee_block_their_names(conn: Connected) -> None:
    vendor = Vendor.get(1, qb=conn.qb)
    employee = Employee.get(1, qb=conn.qb)
    assert (vendor.DisplayName, employee.DisplayName) == ("Books by Bessie", "Emily Platt")
    for name in (vendor.DisplayName, employee.DisplayName):
        with pytest.raises(QuickbooksException) as err:
            new_customer(conn, name)
        assert fault_code(err) == 6240


def test_inactive_customer_still_blocks_its_name(conn: Connected) -> None:
    saved = new_customer(conn, "Sleeping Co")
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Customer", json.dumps(body))
    with pytest.raises(QuickbooksException) as err:
        new_customer(conn, "Sleeping Co")
    assert fault_code(err) == 6240


def test_name_clash_ignores_case_and_spacing(conn: Connected) -> None:
    new_customer(conn, "Case Study Ltd")
    with pytest.raises(QuickbooksException) as err:
        new_customer(conn, "  case  study LTD ")
    assert fault_code(err) == 6240


def test_renaming_onto_another_name_is_6240(conn: Connected) -> None:
    new_customer(conn, "Rename Target")
    mover = new_customer(conn, "Rename Mover")
    mover.DisplayName = "Rename Target"
    with pytest.raises(QuickbooksException) as err:
        mover.save(qb=conn.qb)
    assert fault_code(err) == 6240


@pytest.mark.parametrize("name", ["Parent:Child", "Tab\tName", "New\nLine"])
def test_illegal_characters_are_2040(conn: Connected, name: str) -> None:
    with pytest.raises(ValidationException) as err:
        new_customer(conn, name)
    assert fault_code(err) == 2040


@pytest.mark.parametrize(
    ("field", "limit"),
    [("DisplayName", 500), ("GivenName", 100), ("Title", 16), ("CompanyName", 50), ("Suffix", 16)],
)
def test_lengths_are_2050(conn: Connected, field: str, limit: int) -> None:
    ok = Customer()
    ok.DisplayName = f"Len ok {field}"
    setattr(ok, field, "x" * limit if field != "DisplayName" else "L" * limit)
    ok.save(qb=conn.qb)
    bad = Customer()
    bad.DisplayName = f"Len bad {field}"
    setattr(bad, field, "y" * (limit + 1))
    with pytest.raises(ValidationException) as err:
        bad.save(qb=conn.qb)
    assert fault_code(err) == 2050
    assert err.value.detail.endswith(f"Max:{limit} supplied length:{limit + 1}")


def test_phone_length_limit(conn: Connected) -> None:
    customer = Customer()
    customer.DisplayName = "Long Phone"
    customer.PrimaryPhone = PhoneNumber()
    customer.PrimaryPhone.FreeFormNumber = "1" * 31
    with pytest.raises(ValidationException) as err:
        customer.save(qb=conn.qb)
    assert fault_code(err) == 2050


def test_customer_cannot_be_deleted_only_made_inactive(conn: Connected) -> None:
    saved = new_customer(conn, "Not Deletable")
    body = json.dumps({"Id": saved.Id, "SyncToken": saved.SyncToken})
    with pytest.raises(UnsupportedException) as err:
        conn.qb.delete_object("Customer", body)
    assert fault_code(err) == 500
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Customer", json.dumps(body))
    assert Customer.get(saved.Id, qb=conn.qb).Active is False


def test_default_query_hides_inactive_names(conn: Connected) -> None:
    saved = new_customer(conn, "Hidden Later")
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Customer", json.dumps(body))
    active = Customer.where("DisplayName = 'Hidden Later'", qb=conn.qb)
    every = Customer.where("DisplayName = 'Hidden Later' AND Active IN (true, false)", qb=conn.qb)
    assert active == [] and [c.Id for c in every] == [saved.Id]


def test_read_missing_object_is_610(conn: Connected) -> None:
    with pytest.raises(ObjectNotFoundException) as err:
        Customer.get(987654, qb=conn.qb)
    assert fault_code(err) == 610


def test_unknown_entity_route_is_unsupported_operation(conn: Connected) -> None:
    answer = conn.raw("GET", "widget/1")
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "500"


def test_item_requires_income_account_and_unique_name(conn: Connected) -> None:
    item = Item()
    item.Name = "Widget"
    item.Type = "Service"
    with pytest.raises(ValidationException) as err:
        item.save(qb=conn.qb)
    assert fault_code(err) == 2020
    income = Account.where("Name = 'Sales of Product Income'", qb=conn.qb)[0]
    item.IncomeAccountRef = income.to_ref()
    item.UnitPrice = 50
    saved = item.save(qb=conn.qb)
    assert saved.IncomeAccountRef.value == income.Id and saved.UnitPrice == 50
    dup = Item()
    dup.Name = "widget"
    dup.Type = "NonInventory"
    dup.IncomeAccountRef = income.to_ref()
    with pytest.raises(QuickbooksException) as err2:
        dup.save(qb=conn.qb)
    assert fault_code(err2) == 6240


def test_item_with_missing_or_inactive_account_ref(conn: Connected) -> None:
    item = Item()
    item.Name = "Ghost Account Item"
    item.Type = "Service"
    item.IncomeAccountRef = Account().to_ref()
    item.IncomeAccountRef.value = "9999"
    with pytest.raises(ValidationException) as err:
        item.save(qb=conn.qb)
    assert fault_code(err) == 2500
    account = Account()
    account.Name = "Soon Inactive Income"
    account.AccountType = "Income"
    account = account.save(qb=conn.qb)
    assert account.Classification == "Revenue"
    body = {"Id": account.Id, "SyncToken": account.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("Account", json.dumps(body))
    item.IncomeAccountRef.value = account.Id
    with pytest.raises(ObjectNotFoundException) as err2:
        item.save(qb=conn.qb)
    assert fault_code(err2) == 610


def test_seeded_chart_of_accounts_and_payment_methods(conn: Connected) -> None:
    accounts = {a.Name: a for a in Account.all(qb=conn.qb, max_results=1000)}
    for name in ("Accounts Receivable (A/R)", "Undeposited Funds", "Checking", "Services"):
        assert name in accounts
    assert accounts["Undeposited Funds"].AccountSubType == "UndepositedFunds"
    assert accounts["Accounts Receivable (A/R)"].AccountType == "Accounts Receivable"
    assert "Sales of Product Income" in accounts
    methods = {m.Name: m.Type for m in PaymentMethod.all(qb=conn.qb)}
    assert methods == {
        "Cash": "NON_CREDIT_CARD",
        "Check": "NON_CREDIT_CARD",
        "Visa": "CREDIT_CARD",
        "MasterCard": "CREDIT_CARD",
        "American Express": "CREDIT_CARD",
        "Discover": "CREDIT_CARD",
    }


def test_payment_method_crud_and_inactivation(conn: Connected) -> None:
    method = PaymentMethod()
    method.Name = "Bank Transfer"
    method.Type = "NON_CREDIT_CARD"
    saved = method.save(qb=conn.qb)
    assert PaymentMethod.get(saved.Id, qb=conn.qb).Name == "Bank Transfer"
    body = {"Id": saved.Id, "SyncToken": saved.SyncToken, "sparse": True, "Active": False}
    conn.qb.update_object("PaymentMethod", json.dumps(body))
    assert "Bank Transfer" not in [m.Name for m in PaymentMethod.all(qb=conn.qb)]
    too_long = PaymentMethod()
    too_long.Name = "P" * 32
    with pytest.raises(ValidationException) as err:
        too_long.save(qb=conn.qb)
    assert fault_code(err) == 2050


def test_vendor_and_employee_crud(conn: Connected) -> None:
    vendor = Vendor()
    vendor.DisplayName = "Paper Supplier"
    saved = vendor.save(qb=conn.qb)
    saved.CompanyName = "Paper Supplier LLC"
    assert saved.save(qb=conn.qb).SyncToken == "1"
    employee = Employee()
    employee.GivenName = "Eve"
    employee.FamilyName = "Worker"
    assert employee.save(qb=conn.qb).DisplayName == "Eve Worker"


def test_company_info_and_preferences(conn: Connected) -> None:
    info = CompanyInfo.get(conn.realm_id, qb=conn.qb)
    assert info.CompanyName == "Company A"
    prefs = Preferences.get(qb=conn.qb)
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is True


def test_deactivating_customer_with_open_balance_is_refused(conn: Connected) -> None:
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice

    customer = new_customer(conn, "Owes Money")
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    line = SalesItemLine()
    line.Amount = 10
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Item.all(qb=conn.qb)[0].to_ref()
    invoice.Line = [line]
    invoice.save(qb=conn.qb)
    current = Customer.get(customer.Id, qb=conn.qb)
    assert current.Balance == 10
    body = {"Id": current.Id, "SyncToken": current.SyncToken, "sparse": True, "Active": False}
    with pytest.raises(QuickbooksException) as err:
        conn.qb.update_object("Customer", json.dumps(body))
    assert fault_code(err) == 6000
    assert Customer.get(customer.Id, qb=conn.qb).Active is True
