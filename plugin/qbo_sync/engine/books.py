"""The books check: every customer's balance, CRM against QuickBooks, for a whole company.

What the CRM says a customer owes in a company is the sum, over the sales the company holds,
of each sale's amount less its receipts and adjustments (negative when overpaid). QuickBooks'
side is the Balance of the company's customers, asked for by Id a thousand at a time: one read
per 1,000 customers, and nothing else is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import redis
from sqlalchemy.orm import Session

from ..client import QBOClient, sql_string
from ..client.client import PAGE_SIZE
from ..config import Settings
from ..models import Company, DocKind, SyncRun
from ..source import CRMSource
from .run import build_context, company_scope, make_client, sales_to_plan
from .sales import load_chunk
from .verify import fmt

CHUNK = 500
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Difference:
    customer_id: str
    name: str
    crm: Decimal
    qbo: Decimal | None  # None: the customer is not in QuickBooks
    qbo_id: str | None

    @property
    def text(self) -> str:
        if self.qbo is None:
            return f"{self.name} owes {fmt(self.crm)} in the CRM and is not in QuickBooks."
        return f"QuickBooks shows {fmt(self.qbo)} owed by {self.name}, the CRM {fmt(self.crm)}."


@dataclass(frozen=True)
class BooksReport:
    company: str
    customers: int  # CRM customers compared
    differences: list[Difference]
    reads: int

    @property
    def balanced(self) -> bool:
        return not self.differences


def books_check(
    session: Session,
    settings: Settings,
    source: CRMSource,
    company: Company,
    redis_conn: redis.Redis,
    session_factory: Callable[[], Session],
) -> BooksReport:
    """Compare every customer's balance in the company; writes nothing anywhere."""
    run = SyncRun(company=company, company_id=company.id, id=0)
    client = make_client(settings, company, redis_conn, session_factory)
    ctx = build_context(
        session, settings, source, run, client, company.fence, preview=True, amounts_only=True
    )
    ctx.journal.dry = True
    try:
        scope = company_scope(session, company)
        sale_ids = sales_to_plan(ctx)
        ctx.planned_sales = set(sale_ids)
        owed: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for start in range(0, len(sale_ids), CHUNK):
            chunk = load_chunk(ctx, scope, sale_ids[start : start + CHUNK])
            for key, d in chunk.desired.items():
                if key[0] is DocKind.INVOICE:
                    customer = d.facts["customer"].local_id
                    owed[customer] += Decimal(str(d.facts["owed"]))
            ctx.journal.forget(chunk.docs.values())
        docs = ctx.journal.load(DocKind.CUSTOMER, owed)
        ours = {doc.qbo_id: doc for doc in ctx.journal.load_all(DocKind.CUSTOMER) if doc.qbo_id}
        names = {c.id: f"{c.first_name} {c.last_name}".strip() for c in source.customers(owed)}
        asked = {str(d.qbo_id) for d in docs.values() if d.qbo_id} | set(ours)
        balances = _balances(client, asked)
    finally:
        session.rollback()
    differences: list[Difference] = []
    for customer_id, crm in sorted(owed.items(), key=lambda kv: (len(kv[0]), kv[0])):
        doc = docs.get(customer_id)
        name = names.get(customer_id, f"customer #{customer_id}")
        qbo = balances.get(doc.qbo_id) if doc is not None and doc.qbo_id else None
        if qbo is None and crm == 0:
            continue
        if qbo != crm.quantize(CENT):
            differences.append(Difference(customer_id, name, crm, qbo, doc.qbo_id if doc else None))
    for qbo_id, doc in sorted(ours.items()):
        if doc.local_id not in owed and balances.get(qbo_id, Decimal(0)) != 0:
            name = f"customer #{doc.local_id}"
            differences.append(
                Difference(doc.local_id, name, Decimal("0.00"), balances[qbo_id], qbo_id)
            )
    return BooksReport(company.label, len(owed), differences, client.stats.as_dict()["reads"])


def _balances(client: QBOClient, qbo_ids: set[str]) -> dict[str, Decimal]:
    """The balances of these QuickBooks customers (inactive ones too): one read per 1,000,
    asked by Id, so no page is read only to find that it is the last."""
    out: dict[str, Decimal] = {}
    ordered = sorted(qbo_ids, key=lambda i: (len(i), i))
    for start in range(0, len(ordered), PAGE_SIZE):
        listed = ", ".join(sql_string(i) for i in ordered[start : start + PAGE_SIZE])
        rows = client.query(
            f"SELECT * FROM Customer WHERE Id IN ({listed}) "  # noqa: S608 - quoted ids
            f"AND Active IN (true, false) MAXRESULTS {PAGE_SIZE}"
        )
        for c in rows:
            out[str(c["Id"])] = Decimal(str(c.get("Balance", "0"))).quantize(CENT)
    return out
