"""Hostile input over python-quickbooks: malformed e-mail addresses are 2210 (field notes §1
row 27), and numbers and names taken earlier in the same batch are taken (6140, 6240)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import EmailAddress
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

if TYPE_CHECKING:
    from conftest import Connected

pytestmark = pytest.mark.conformance


def _customer(name: str, email: str | None = None) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    if email is not None:
        customer.PrimaryEmailAddr = EmailAddress()
        customer.PrimaryEmailAddr.Address = email
    return customer


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "<x>@y.com", "a b@c.com", "a@b.c"])
def test_malformed_email_is_2210(conn: Connected, email: str) -> None:
    with pytest.raises(QuickbooksException) as err:
        _customer(f"Mail {email}", email).save(qb=conn.qb)
    assert int(err.value.error_code) == 2210
    assert "RFC 822" in str(err.value.detail)
    assert not Customer.filter(DisplayName=f"Mail {email}", qb=conn.qb)


def test_wellformed_email_is_kept(conn: Connected) -> None:
    saved = _customer("Mail Good", "good.mail+tag@example.co.uk").save(qb=conn.qb)
    assert Customer.get(saved.Id, qb=conn.qb).PrimaryEmailAddr.Address == (
        "good.mail+tag@example.co.uk"
    )


def test_malformed_email_in_a_batch_fails_only_its_item(conn: Connected) -> None:
    result = batch_create(
        [_customer("Batch Mail Bad", "x@"), _customer("Batch Mail Ok")], qb=conn.qb
    )
    assert [c.DisplayName for c in result.successes] == ["Batch Mail Ok"]
    assert [f.Error[0].code for f in result.faults] == ["2210"]


def test_a_number_taken_earlier_in_the_same_batch_is_taken(conn: Connected) -> None:
    customer = _customer("Batch Numbers").save(qb=conn.qb)
    item = Item.all(qb=conn.qb)[0]
    invoices = []
    for amount in (20, 21):
        line = SalesItemLine()
        line.Amount = amount
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = item.to_ref()
        invoice = Invoice()
        invoice.CustomerRef = customer.to_ref()
        invoice.DocNumber = "B-DUP"
        invoice.Line = [line]
        invoices.append(invoice)
    result = batch_create(invoices, qb=conn.qb)
    assert [inv.TotalAmt for inv in result.successes] == [20]
    assert [f.Error[0].code for f in result.faults] == ["6140"]
    assert len(Invoice.filter(DocNumber="B-DUP", qb=conn.qb)) == 1
