"""Read-only pages: the companies at `/` (the front door), and per company its customers and one
customer's page. The document pages (invoice, payment, credit memo) are `documents`', on the same
blueprint; the helpers here format amounts and dates for both."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .directory import companies
from .entities.common import money
from .repo import Doc, Repo
from .state import emulator

blueprint = Blueprint("qbo_workbook", __name__, url_prefix="/app", template_folder="templates")
home_blueprint = Blueprint("qbo_home", __name__, template_folder="templates")
AR_ACCOUNT = "Accounts Receivable (A/R)"
# The workbook page of each transaction type the customer page lists (the paths links.py builds).
PAGES = {"Invoice": "invoice", "Credit Memo": "creditmemo", "Payment": "payment"}


@dataclass
class TxnRow:
    type: str
    num: str
    date: str
    account: str
    amount: str
    sort_key: tuple[str, int]
    page: str = ""  # the endpoint of the transaction's own page
    id: str = ""


def amount_text(value: object) -> str:
    return f"{money(value, 'Amount', Decimal(0)):,.2f}"


def us_date(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[1]}/{parts[2]}/{parts[0]}" if len(parts) == 3 else iso


def company_of(realm_id: str) -> str:
    """The seeded name of the company (404 for an unknown realm)."""
    names = {realm: name for name, realm in emulator().realms.items()}
    if realm_id not in names:
        abort(404)
    return names[realm_id]


@home_blueprint.get("/")
def home() -> str:
    """Every company with its realm id and a link to its workbook (all text escaped)."""
    return render_template("home.html", companies=companies(emulator()))


@blueprint.get("/")
def workbooks() -> Response:
    """`/app/` has no page of its own: the front door lists the companies' workbooks."""
    return redirect(url_for("qbo_home.home"))


@blueprint.get("/<realm_id>/")
def customers(realm_id: str) -> str:
    company = company_of(realm_id)
    emu = emulator()
    with emu.store.read() as conn:
        docs = Repo(conn, realm_id, emu.clock).all("Customer")
    rows = [
        {
            "id": d["Id"],
            "name": d.get("DisplayName", ""),
            "company": d.get("CompanyName", ""),
            "phone": (d.get("PrimaryPhone") or {}).get("FreeFormNumber", ""),
            "email": (d.get("PrimaryEmailAddr") or {}).get("Address", ""),
            "balance": amount_text(d.get("Balance")),
            "active": d.get("Active") is not False,
        }
        for d in sorted(docs, key=lambda d: str(d.get("DisplayName", "")).casefold())
    ]
    return render_template("customers.html", company=company, realm_id=realm_id, rows=rows)


def transactions(repo: Repo, customer_id: str) -> list[TxnRow]:
    rows: list[TxnRow] = []

    def add(kind: str, doc: Doc, num: str, account: str, amount: object) -> None:
        date = str(doc.get("TxnDate", ""))
        key = (date, int(doc["Id"]))
        text = amount_text(amount)
        rows.append(TxnRow(kind, num, us_date(date), account, text, key, PAGES[kind], doc["Id"]))

    for doc in repo.for_customer("Invoice", customer_id):
        add("Invoice", doc, str(doc.get("DocNumber", "")), AR_ACCOUNT, doc.get("TotalAmt"))
    for doc in repo.for_customer("CreditMemo", customer_id):
        total = -money(doc.get("TotalAmt"), "TotalAmt", Decimal(0))
        add("Credit Memo", doc, str(doc.get("DocNumber", "")), AR_ACCOUNT, total)
    for doc in repo.for_customer("Payment", customer_id):
        account = str((doc.get("DepositToAccountRef") or {}).get("name", ""))
        add("Payment", doc, str(doc.get("PaymentRefNum", "")), account, doc.get("TotalAmt"))
    rows.sort(key=lambda r: r.sort_key, reverse=True)
    return rows


@blueprint.get("/<realm_id>/customer/<customer_id>")
def customer(realm_id: str, customer_id: str) -> str:
    company = company_of(realm_id)
    emu = emulator()
    with emu.store.read() as conn:
        repo = Repo(conn, realm_id, emu.clock)
        doc = repo.get("Customer", customer_id)
        if doc is None:
            abort(404)
        rows = transactions(repo, str(doc["Id"]))
    addr = doc.get("BillAddr") or {}
    address_lines = [
        str(addr[k]) for k in ("Line1", "Line2", "Line3", "Line4", "Line5") if addr.get(k)
    ]
    city = " ".join(
        str(addr[k]) for k in ("City", "CountrySubDivisionCode", "PostalCode") if addr.get(k)
    )
    if city:
        address_lines.append(city)
    if addr.get("Country"):
        address_lines.append(str(addr["Country"]))
    phones = [
        (label, str((doc.get(field) or {}).get("FreeFormNumber", "")))
        for label, field in (("Phone", "PrimaryPhone"), ("Mobile", "Mobile"), ("Fax", "Fax"))
        if (doc.get(field) or {}).get("FreeFormNumber")
    ]
    return render_template(
        "customer.html",
        company=company,
        realm_id=realm_id,
        customer=doc,
        balance=amount_text(doc.get("Balance")),
        address_lines=address_lines,
        phones=phones,
        email=(doc.get("PrimaryEmailAddr") or {}).get("Address", ""),
        rows=rows,
    )
