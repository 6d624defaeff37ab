"""The hostile CRM the tests of this package share: one or more records per family of the issue,
next to ordinary ones (keys name them for the assertions)."""

from __future__ import annotations

from datetime import date

from crm.models import Customer
from tests.hostile.shop import Shop, fits, is_sqlite

CLOSED = "2025-12-31"  # the books' closing date in QuickBooks
LONG = 600
HTML_NUMBER = "<script>x()</script>"
HTML_CLASH = '"><img src=x onerror=alert(3)>'  # a name the bookkeeper has in QuickBooks
QUOTED_NUMBER = "Q'1\\"  # an invoice number the bookkeeper used already
HTML_NAME = '<script>alert(1)</script> "><img src=x onerror=alert(2)>'


def build(shop: Shop) -> None:
    c = shop.customer
    ok = c("ok", "Olive", "Ordinary", email="olive@example.com", phone="555-0101")
    shop.receipt(
        "ok", shop.sale("ok", ok, "H-OK1", ("2", "150.00"), ("1", "99.99")), "R-OK1", "100.00"
    )
    shop.sale("ok2", c("ok2", "Oscar", "Plain"), "H-OK2", ("1", "10.00"))
    # names
    c("colon", "Ann: The", "Builder", company_name="Acme:Roofing")
    c("ws", "Tab\tBy", "New\nLine\r\nName", street="1 Main St\n\tApt 2\n\n", city="Spring\tfield")
    c("uni", "Zoë🏠", "כהן e\u0301", city="תל אביב")
    c("bidi", "Rtl\u202eOverride", "Zero\u200bWidth")
    c("quotes", "Seán", 'O’Brien—Smith \\ "Jr"', company_name="‘Curly’ – “Dashes”")
    c("html", "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
    c("html_clash", '"><img', "src=x onerror=alert(3)>")  # taken: renamed, noted on the page
    c("sql", "Robert'); DROP TABLE customer;--", "x' OR '1'='1")
    c("qlang", "Pat", "O'Neil \\ Sons", email="pat@oneil.example")  # taken in QuickBooks
    c(
        "long",
        "F" * fits(Customer.__table__.c.first_name, LONG),
        "L" * fits(Customer.__table__.c.last_name, LONG),
        company_name="C" * fits(Customer.__table__.c.company_name, LONG),
        street="S" * fits(Customer.__table__.c.street, LONG),
        city="Y" * fits(Customer.__table__.c.city, LONG),
    )
    # twins: shared phone, no shared contact, shared e-mail; names of a vendor and an employee
    c("sam1", "Sam", "Twin", phone="555-0100", email="sam1@example.com")
    c("sam2", "Sam", "Twin", phone="555-0100", email="sam2@example.com")
    c("kim1", "Kim", "Twin")
    c("kim2", "Kim", "Twin")
    c("lee1", "Lee", "Twin", email="family@example.com")
    c("lee2", "Lee", "Twin", email="family@example.com")
    c("vendor", "", "", company_name="Books by Bessie")
    c("employee", "Emily", "Platt")
    # e-mails and phones
    c("mail1", "Mail", "NoAt", email="not-an-email", phone="+1 (555) 010-2000 ext. 12345678")
    c("mail2", "Mail", "NoDot", email="a@b", phone="\t555\n0199")
    c("mail3", "Mail", "Angle", email="<x>@y.com", alt_phone="☎ 555 0142")
    c("mail4", "Mail", "Space", email="a b@c.com")
    c("mail5", "Mail", "Good", email="  good.mail+tag@example.co.uk ")
    for key in [k for k in shop.customers if k not in ("ok", "ok2")]:
        shop.sale(key, shop.customers[key], f"H-{key.upper()}", ("1", "100.00"))

    # sales: numbers, amounts, lines, dates
    h = c("sales", "Hana", "Sales")
    if is_sqlite():  # PostgreSQL holds 21 characters; the form refuses more (test_forms)
        long_sale = shop.sale("longnum", h, "H-" + "9" * 23, ("1", "10.00"))
        shop.receipt("longnum", long_sale, "R-LONGNUM", "5.00")
    shop.sale("dup1", h, "H-DUP", ("1", "20.00"))
    shop.sale("dup2", h, "H-DUP\t", ("1", "21.00"))  # the same number once cleaned
    shop.sale("quoted", h, QUOTED_NUMBER, ("1", "22.00"))  # QuickBooks has it, for another
    shop.sale("zero", h, "H-ZERO", ("1", "0.00"))
    shop.sale("neg", h, "H-NEGLINE", ("1", "100.00"), ("-1", "20.00"))
    shop.sale("three", h, "H-THREE", ("1.5", "3.33"))
    shop.sale("negtotal", h, "H-NEGTOTAL", ("-1", "30.00"))
    shop.receipt("nolines", shop.sale("nolines", h, "H-NOLINES"), "R-NOLINES", "5.00")
    # no lines: it fails, and its number is in the reasons on the page (its receipt's too)
    shop.receipt("html_num", shop.sale("html_num", h, HTML_NUMBER), "R-HTML", "5.00")
    over = shop.sale("over", h, "H-OVER", ("1", "100.00"))
    shop.receipt("over", over, "R-OVER", "150.00")
    shop.receipt("method", shop.sales["ok2"], "R-\tTAB", "2.00", method="Visa:\tGold  Card")
    shop.receipt("zero", over, "R-ZERO", "0.00")
    shop.receipt("negative", over, "R-NEG", "-5.00")
    cancelled = shop.sale("cancelled", h, "H-CANCELLED", ("1", "50.00"), status="cancelled")
    shop.receipt("cancelled", cancelled, "R-CANCELLED", "50.00")
    shop.sale("past", h, "H-PAST", ("1", "10.00"), sold_on=date(1900, 1, 2))
    shop.sale("future", h, "H-FUTURE", ("1", "10.00"), sold_on=date(2999, 12, 31))
    shop.sale("closed", h, "H-CLOSED", ("1", "10.00"), sold_on=date(2025, 6, 30))
    shop.receipt("closed", shop.sales["ok2"], "R-CLOSED", "1.00", on=date(2025, 12, 31))
