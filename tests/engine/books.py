"""The invariant every run must leave behind, checked by reading one QuickBooks company back.

For the CRM sales that belong in a company (the caller chooses them):

* a sale with status "sold" is exactly one live (not voided) Invoice, DocNumber = sale number,
  under its customer, dated its sold-on date, one line per sale line (the line amounts, in order)
  plus one "CRM Adjustment" line per adjustment raising the balance (negative amount);
  TotalAmt = the sale's amount plus those increases, Balance = max(0, what is still open);
* a receipt (kind "receipt") is exactly one live Payment, PaymentRefNum = receipt number,
  TotalAmt = its amount, dated its received-on date, by its payment method, applied to the sale's
  invoice for min(amount, what is still open) and the rest left unapplied;
* an adjustment lowering the balance (positive amount) is exactly one live CreditMemo,
  DocNumber = adjustment number, TotalAmt = its amount, applied to the invoice for
  min(amount, what is still open) by zero-amount Payments linking the invoice and the memo;
* receipts and positive adjustments take from what is open in (received on, id) order;
* nothing stray: no other live invoice, payment with an amount, credit memo, or application;
* each customer of those sales is one QuickBooks customer ("First Last", or "First Last (C-<id>)"
  when the name was taken), its Balance the CRM's Σ (amount - receipts - adjustments) over its
  sold sales (negative when overpaid); two CRM customers never share one QuickBooks customer, and
  a QuickBooks customer that is none of them owes nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import start_sync
from qbo_sync.models import SyncProfile

from crm.models import Customer, Receipt, Sale, db
from tests.engine.conftest import Books, books, money, voided, work

ADJUSTMENT_ITEM = "CRM Adjustment"
ZERO = Decimal("0.00")
Doc = dict[str, Any]


def live_docs(emu: EmulatorProcess, company: str, qbo: Books | None = None) -> dict[str, list[Doc]]:
    """The company's live transactions: invoices and payments not voided (payments of any
    amount, the zero-amount credit applications included), credit memos not voided nor zero."""
    qbo = qbo or books(emu, company)
    return {
        "Invoice": [d for d in qbo.all("Invoice") if not voided(d)],
        "Payment": [d for d in qbo.all("Payment") if not voided(d)],
        "CreditMemo": [
            d for d in qbo.all("CreditMemo") if not voided(d) and money(d["TotalAmt"]) > 0
        ],
    }


def writes_of_next_run(emu: EmulatorProcess, company: str, profile: SyncProfile) -> int:
    """Start a run of the profile, work it off, and return how many writes it sent the company."""
    realm = emu.realm_ids[company]
    before = int(emu.stats(realm).get("writes", 0))
    _, new = start_sync(profile)
    assert new, "a run of this profile was still queued or running"
    work()
    return int(emu.stats(realm).get("writes", 0)) - before


def _ref(doc: Doc, field: str) -> str | None:
    ref = doc.get(field) or {}
    return None if ref.get("value") is None else str(ref["value"])


def _links(payment: Doc) -> list[tuple[str, str, Decimal]]:
    """(TxnType, TxnId, Amount) of each non-zero linked line of a payment."""
    out: list[tuple[str, str, Decimal]] = []
    for line in payment.get("Line") or []:
        amount = money(line.get("Amount") or 0)
        for linked in line.get("LinkedTxn") or []:
            if amount != 0:
                out.append((str(linked.get("TxnType")), str(linked.get("TxnId")), amount))
    return out


def _one(docs: list[Doc], what: str) -> Doc:
    assert len(docs) == 1, f"{what}: {len(docs)} live documents, expected exactly one: {docs}"
    return docs[0]


def _customer_map(
    qbo_customers: list[Doc], wanted: Sequence[Customer], foreign: set[str]
) -> dict[int, Doc]:
    """Which QuickBooks customer is which CRM customer; each found exactly once, none shared."""
    by_name = {c["DisplayName"]: c for c in qbo_customers}
    mapped: dict[int, Doc] = {}
    for cust in wanted:
        doc = by_name.get(f"{cust.full_name} (C-{cust.id})") or by_name.get(cust.full_name)
        assert doc is not None, (
            f"customer #{cust.id} {cust.full_name!r} is not in QuickBooks "
            f"(there: {sorted(by_name)})"
        )
        mapped[cust.id] = doc
    owners = Counter(d["Id"] for d in mapped.values())
    shared = [(cid, d["DisplayName"]) for cid, d in mapped.items() if owners[d["Id"]] > 1]
    assert not shared, f"CRM customers share one QuickBooks customer: {shared}"
    ours = {d["Id"] for d in mapped.values()}
    crm_names = Counter(
        f"{first} {last}".strip()
        for first, last in db.session.execute(sa.select(Customer.first_name, Customer.last_name))
    )
    wanted_names = Counter(c.full_name for c in wanted)
    for cust in wanted:
        twin = by_name.get(cust.full_name)
        if twin is None or twin["Id"] in ours or cust.full_name in foreign:
            continue
        # the name may be another CRM customer's (one not among these sales): no twin then
        assert crm_names[cust.full_name] > wanted_names[cust.full_name], (
            f"customer #{cust.id} exists twice in QuickBooks: "
            f"{mapped[cust.id]['DisplayName']!r} and {twin['DisplayName']!r}"
        )
    return mapped


def check_books(
    emu: EmulatorProcess,
    company: str,
    sales: Sequence[Sale],
    *,
    foreign: Iterable[str] = (),
) -> None:
    """Assert the module's invariant for `sales` in `company` (see the module docstring).

    `sales` are the CRM sales that belong in the company, cancelled ones included (they must
    have nothing live); the session is expired first, so they are read fresh. `foreign` names
    QuickBooks customers someone else entered by hand (the bookkeeper), which are no duplicate.
    """
    db.session.expire_all()
    sales = list({s.id: s for s in sales}.values())  # each sale once, however often given
    qbo = books(emu, company)
    live = live_docs(emu, company, qbo)
    adjustment = next((i["Id"] for i in qbo.all("Item") if i["Name"] == ADJUSTMENT_ITEM), None)
    methods = {m["Id"]: m["Name"] for m in qbo.all("PaymentMethod")}
    sold = [s for s in sales if s.status == "sold"]
    wanted = sorted({s.customer for s in sold}, key=lambda c: c.id)
    customers = _customer_map(qbo.all("Customer"), wanted, set(foreign))

    invoices: dict[str, list[Doc]] = defaultdict(list)
    for inv in live["Invoice"]:
        invoices[str(inv.get("DocNumber"))].append(inv)
    payments: dict[str, list[Doc]] = defaultdict(list)
    for pay in live["Payment"]:
        if money(pay["TotalAmt"]) > 0:
            payments[str(pay.get("PaymentRefNum"))].append(pay)
    memos: dict[str, list[Doc]] = defaultdict(list)
    for memo in live["CreditMemo"]:
        memos[str(memo.get("DocNumber"))].append(memo)
    applications: dict[str, list[Doc]] = defaultdict(list)  # live payments by memo applied
    for pay in live["Payment"]:
        for txn_type, txn_id, _amount in _links(pay):
            if txn_type == "CreditMemo":
                applications[txn_id].append(pay)

    expected_invoices: set[str] = set()
    expected_memos: set[str] = set()
    expected_payments: set[str] = set()
    for sale in sold:
        customer_id = str(customers[sale.customer_id]["Id"])
        number = sale.number
        inv = _one(invoices.get(number, []), f"invoice {number}")
        expected_invoices.add(str(inv["Id"]))
        entries = sorted(sale.receipts, key=lambda r: (r.received_on, r.id))
        increases = [-r.amount for r in entries if r.kind == "adjustment" and r.amount < 0]
        total = sale.amount + sum(increases, ZERO)
        assert money(inv["TotalAmt"]) == total, (number, inv["TotalAmt"], total)
        assert _ref(inv, "CustomerRef") == customer_id, (number, "invoice under another customer")
        assert inv["TxnDate"] == sale.sold_on.isoformat(), (number, inv["TxnDate"])
        lines = [ln for ln in inv["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
        extra = [ln for ln in lines if _ref(ln["SalesItemLineDetail"], "ItemRef") == adjustment]
        own = [ln for ln in lines if ln not in extra]
        assert [money(ln["Amount"]) for ln in own] == [ln.amount for ln in sale.lines], (
            number,
            "invoice lines differ from the sale's",
        )
        assert sorted(money(ln["Amount"]) for ln in extra) == sorted(increases), (
            number,
            "adjustment lines differ from the negative adjustments",
        )

        open_amount = total
        for entry in entries:
            if entry.kind == "adjustment" and entry.amount <= 0:
                continue
            applied = min(entry.amount, max(open_amount, ZERO))
            open_amount -= entry.amount
            if entry.kind == "receipt":
                _check_payment(entry, payments, inv, customer_id, applied, methods)
                expected_payments.add(entry.number)
            else:
                memo = _check_memo(entry, memos, inv, customer_id, applied, applications)
                expected_memos.add(str(memo["Id"]))
        assert money(inv["Balance"]) == max(open_amount, ZERO), (
            number,
            "open balance",
            inv["Balance"],
            max(open_amount, ZERO),
        )

    stray = [i["DocNumber"] for i in live["Invoice"] if str(i["Id"]) not in expected_invoices]
    assert not stray, f"live invoices no CRM sale wants: {stray}"
    stray = [ref for ref in payments if ref not in expected_payments]
    assert not stray, f"live payments no CRM receipt wants: {stray}"
    stray = [m["DocNumber"] for m in live["CreditMemo"] if str(m["Id"]) not in expected_memos]
    assert not stray, f"live credit memos no CRM adjustment wants: {stray}"
    for pay in live["Payment"]:
        for txn_type, txn_id, _amount in _links(pay):
            wanted_ids = expected_invoices if txn_type == "Invoice" else expected_memos
            assert txn_id in wanted_ids, f"payment {pay.get('PaymentRefNum')} links {txn_type}"

    owed: dict[int, Decimal] = defaultdict(Decimal)
    for sale in sold:
        owed[sale.customer_id] += sale.amount - sum((r.amount for r in sale.receipts), ZERO)
    for cust in wanted:
        doc = customers[cust.id]
        assert money(doc["Balance"]) == owed[cust.id], (
            f"customer {doc['DisplayName']!r}: QuickBooks shows {doc['Balance']}, "
            f"the CRM {owed[cust.id]}"
        )
    ours = {d["Id"] for d in customers.values()}
    for doc in qbo.all("Customer"):
        if doc["Id"] not in ours:
            assert money(doc.get("Balance") or 0) == 0, (
                f"{doc['DisplayName']!r} owes {doc['Balance']} but has no sale in the CRM here"
            )


def _check_payment(
    receipt: Receipt,
    payments: dict[str, list[Doc]],
    invoice: Doc,
    customer_id: str,
    applied: Decimal,
    methods: dict[str, str],
) -> None:
    pay = _one(payments.get(receipt.number, []), f"payment {receipt.number}")
    what = f"payment {receipt.number}"
    assert money(pay["TotalAmt"]) == receipt.amount, (what, pay["TotalAmt"], receipt.amount)
    assert _ref(pay, "CustomerRef") == customer_id, (what, "under another customer")
    assert pay["TxnDate"] == receipt.received_on.isoformat(), (what, pay["TxnDate"])
    method = methods.get(_ref(pay, "PaymentMethodRef") or "")
    assert method == receipt.payment_method, (what, method, receipt.payment_method)
    links = _links(pay)
    assert all(t == "Invoice" and i == str(invoice["Id"]) for t, i, _ in links), (
        what,
        "applied to something other than its sale's invoice",
        links,
    )
    assert sum((a for _, _, a in links), ZERO) == applied, (what, "applied", links, applied)
    assert money(pay.get("UnappliedAmt") or 0) == receipt.amount - applied, (
        what,
        "unapplied",
        pay.get("UnappliedAmt"),
        receipt.amount - applied,
    )


def _check_memo(
    adjustment: Receipt,
    memos: dict[str, list[Doc]],
    invoice: Doc,
    customer_id: str,
    applied: Decimal,
    applications: dict[str, list[Doc]],
) -> Doc:
    what = f"credit memo {adjustment.number}"
    memo = _one(memos.get(adjustment.number, []), what)
    assert money(memo["TotalAmt"]) == adjustment.amount, (what, memo["TotalAmt"])
    assert _ref(memo, "CustomerRef") == customer_id, (what, "under another customer")
    assert memo["TxnDate"] == adjustment.received_on.isoformat(), (what, memo["TxnDate"])
    credited = ZERO
    for pay in applications.get(str(memo["Id"]), []):
        links = _links(pay)
        to_memo = sum((a for t, i, a in links if t == "CreditMemo" and i == str(memo["Id"])), ZERO)
        assert money(pay["TotalAmt"]) == 0, (what, "applied by a payment with money", links)
        assert all(i == str(invoice["Id"]) for t, i, _ in links if t == "Invoice"), (
            what,
            "applied to something other than its sale's invoice",
            links,
        )
        credited += to_memo
    assert credited == applied, (what, "applied", credited, applied)
    assert money(memo.get("RemainingCredit") or 0) == adjustment.amount - applied, (
        what,
        "remaining credit",
        memo.get("RemainingCredit"),
        adjustment.amount - applied,
    )
    return memo
