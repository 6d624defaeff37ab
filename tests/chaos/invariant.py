"""The invariant after every trial, counted rather than asserted at the first break, so the
report can show the figures: duplicates, records lost, stray documents, wrong amounts.

A company's books are read back over HTTP with an independent reader (tests/engine Books). A
CRM record in scope that is missing from QuickBooks counts as lost unless the plugin lists it as
failed or blocked with a plain-language reason; every difference tests/engine/books.py finds
(amounts, open balances, applications, customer balances) counts as wrong."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.models import DocKind, RecordStatus, SyncDocument

from crm.models import Customer, MarketSegment, Sale, db
from tests.engine.books import Doc, check_books, live_docs
from tests.engine.conftest import books, money

ZERO = Decimal("0.00")


@dataclass
class Findings:
    """What one check found, each entry a short sentence naming the record."""

    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)  # not synced, but failed/blocked with why
    checked: int = 0  # CRM records (customers, invoices, payments, credit memos) looked at

    def add(self, other: Findings) -> None:
        for name in ("duplicates", "lost", "stray", "wrong", "listed"):
            getattr(self, name).extend(getattr(other, name))
        self.checked += other.checked

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.lost or self.stray or self.wrong)


def sales_of(segments: Sequence[str]) -> list[Sale]:
    db.session.expire_all()
    query = sa.select(Sale).join(MarketSegment).where(MarketSegment.name.in_(segments))
    return list(db.session.scalars(query.order_by(Sale.id)))


def _listed(company_id: int, kind: DocKind, local_id: int) -> str | None:
    """The reason the plugin gives for a record it could not sync, if it lists one."""
    doc = db.session.scalar(
        sa.select(SyncDocument).filter_by(company_id=company_id, kind=kind, local_id=str(local_id))
    )
    if doc is None or doc.status not in (RecordStatus.FAILED, RecordStatus.BLOCKED):
        return None
    return doc.explanation or doc.error_message or None


def _count(
    found: Findings,
    docs: dict[str, list[Doc]],
    key: str,
    what: str,
    company_id: int,
    kind: DocKind,
    local_id: int,
) -> Doc | None:
    """One CRM record's documents: exactly one is right; none is lost unless listed."""
    found.checked += 1
    mine = docs.pop(key, [])
    if len(mine) > 1:
        found.duplicates.append(f"{what}: {len(mine)} live documents")
    if mine:
        return mine[0]
    reason = _listed(company_id, kind, local_id)
    if reason:
        found.listed.append(f"{what}: {reason}")
    else:
        found.lost.append(f"{what}: not in QuickBooks and not listed as failed or blocked")
    return None


def check(emu: EmulatorProcess, company: str, company_id: int, segments: Sequence[str]) -> Findings:
    """Count what is wrong with one company's books against the CRM sales of `segments`."""
    found = Findings()
    sales = sales_of(segments)
    qbo = books(emu, company)
    live = live_docs(emu, company, qbo)
    invoices: dict[str, list[Doc]] = defaultdict(list)
    for inv in live["Invoice"]:
        invoices[str(inv.get("DocNumber"))].append(inv)
    payments: dict[str, list[Doc]] = defaultdict(list)
    for pay in live["Payment"]:
        if money(pay["TotalAmt"]) > 0:  # zero ones apply credit memos
            payments[str(pay.get("PaymentRefNum"))].append(pay)
    memos: dict[str, list[Doc]] = defaultdict(list)
    for memo in live["CreditMemo"]:
        memos[str(memo.get("DocNumber"))].append(memo)

    sold = [s for s in sales if s.status == "sold"]
    for sale in sold:
        increases = sum(
            (-r.amount for r in sale.receipts if r.kind == "adjustment" and r.amount < 0), ZERO
        )
        inv = _count(
            found,
            invoices,
            sale.number,
            f"invoice {sale.number}",
            company_id,
            DocKind.INVOICE,
            sale.id,
        )
        if inv is not None and money(inv["TotalAmt"]) != sale.amount + increases:
            found.wrong.append(
                f"invoice {sale.number}: {inv['TotalAmt']} != {sale.amount + increases}"
            )
        for entry in sale.receipts:
            if entry.kind == "receipt":
                pay = _count(
                    found,
                    payments,
                    entry.number,
                    f"payment {entry.number}",
                    company_id,
                    DocKind.PAYMENT,
                    entry.id,
                )
                if pay is not None and money(pay["TotalAmt"]) != entry.amount:
                    found.wrong.append(
                        f"payment {entry.number}: {pay['TotalAmt']} != {entry.amount}"
                    )
            elif entry.amount > 0:
                memo = _count(
                    found,
                    memos,
                    entry.number,
                    f"credit memo {entry.number}",
                    company_id,
                    DocKind.CREDIT_MEMO,
                    entry.id,
                )
                if memo is not None and money(memo["TotalAmt"]) != entry.amount:
                    found.wrong.append(
                        f"credit memo {entry.number}: {memo['TotalAmt']} != {entry.amount}"
                    )
    for kind, left in (("invoice", invoices), ("payment", payments), ("credit memo", memos)):
        found.stray += [f"live {kind} {key} no CRM record in scope wants" for key in sorted(left)]
    _customers(found, qbo.all("Customer"), {s.customer for s in sold}, company_id)
    try:
        check_books(emu, company, sales)
    except AssertionError as exc:  # counted: the report shows every trial's figures
        if found.clean:  # what the counts above did not already name
            found.wrong.append(f"{company}: {str(exc)[:500]}")
    return found


def _customers(found: Findings, docs: list[Doc], wanted: set[Customer], company_id: int) -> None:
    """Each customer of a sold sale is one QuickBooks customer: its name, or the name with
    its CRM id when the name was taken; both at once is a duplicate."""
    by_name = {d["DisplayName"]: d for d in docs}
    names = Counter(
        f"{first} {last}".strip()
        for first, last in db.session.execute(sa.select(Customer.first_name, Customer.last_name))
    )
    for cust in sorted(wanted, key=lambda c: c.id):
        found.checked += 1
        plain, tagged = by_name.get(cust.full_name), by_name.get(f"{cust.full_name} (C-{cust.id})")
        if plain is None and tagged is None:
            reason = _listed(company_id, DocKind.CUSTOMER, cust.id)
            target = found.listed if reason else found.lost
            target.append(
                f"customer #{cust.id} {cust.full_name!r}: {reason or 'not in QuickBooks'}"
            )
        elif plain is not None and tagged is not None and names[cust.full_name] == 1:
            found.duplicates.append(f"customer #{cust.id} {cust.full_name!r} exists twice")
