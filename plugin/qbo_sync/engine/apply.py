"""Apply a plan, stage by stage: build each operation's exact body (references resolved,
fresh SyncTokens for transactions), hold back what QuickBooks would refuse anyway (closed
period, unresolvable references), send the rest through the writer, settle every outcome,
and give certain refusals their one follow-up (5010 stale token, 6240 name clash, 6140
number clash, an item or payment method that exists already)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..client import sql_string
from ..errors import QBORequestError
from ..mapping import disambiguated_display_name, to_qbo_customer
from ..models import DocKind, OpKind, SyncDocument
from ..source import CustomerRecord
from .context import RunContext
from .desired import Ref
from .explain import closed_period
from .identity import same_person
from .planner import (
    ACCOUNT_KEYS,
    ALLOW_DUPLICATE_NUMBER,
    PlannedOp,
    Unresolved,
    content_hash,
    recorded_facts,
    resolve,
)
from .writer import Work

TRANSACTIONS = (
    DocKind.INVOICE,
    DocKind.PAYMENT,
    DocKind.CREDIT_MEMO,
    DocKind.CREDIT_APPLICATION,
)
# What a sparse customer update sends for a field the CRM no longer has, so it is cleared.
CLEARED: dict[str, Any] = {
    "GivenName": "",
    "FamilyName": "",
    "CompanyName": "",
    "PrimaryPhone": {"FreeFormNumber": ""},
    "AlternatePhone": {"FreeFormNumber": ""},
    "PrimaryEmailAddr": {"Address": ""},
    "BillAddr": {"Line1": "", "City": "", "CountrySubDivisionCode": "", "PostalCode": ""},
}
MISSING = "missing"
Docs = dict[tuple[DocKind, str], SyncDocument]


def _recorded_date(doc: SyncDocument) -> date | None:
    raw = (doc.facts or {}).get("date")
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


class Applier:
    def __init__(self, ctx: RunContext, counts: dict[str, int]) -> None:
        self.ctx = ctx
        self.counts = counts
        self.labels: dict[tuple[DocKind, str], str] = {}
        self.customers: dict[str, CustomerRecord] = {}
        self.previewed: list[PlannedOp] = []  # what a preview would have done

    # -- stages --------------------------------------------------------------------------------

    def apply(self, ops: Sequence[PlannedOp], docs: Docs) -> None:
        for op in ops:
            if op.desired is not None:
                self.labels[op.key] = op.desired.label
        for stage in sorted({op.stage for op in ops}):
            self.stage([op for op in ops if op.stage == stage], docs)

    def stage(self, ops: Sequence[PlannedOp], docs: Docs) -> None:
        unknown: dict[DocKind, set[str]] = defaultdict(set)
        for op in ops:
            if op.key not in docs:
                unknown[op.kind].add(op.local_id)
        for kind, local_ids in unknown.items():  # one query per kind, not one per document
            found = self.ctx.journal.load(kind, local_ids)
            for local_id in sorted(local_ids):
                docs[(kind, local_id)] = found.get(local_id) or self.ctx.journal.new(kind, local_id)
        tokens = self._fresh_tokens(
            docs[op.key]
            for op in ops
            if op.op is not OpKind.CREATE and op.kind in TRANSACTIONS and docs[op.key].qbo_id
        )
        works = []
        for op in ops:
            doc = docs[op.key]
            if doc.in_flight:  # sent earlier in this run and never answered: wait for next run
                continue
            work = self._prepare(op, doc, tokens, docs)
            if work is not None:
                works.append(work)
        self.ctx.journal.commit()
        self.send(works)

    def _fresh_tokens(self, docs: Iterable[SyncDocument]) -> dict[tuple[str, str], str]:
        """Current SyncTokens of transactions about to change, one query per 200 of them.

        QuickBooks raises an invoice's SyncToken whenever a payment is applied to it, so the
        token of our last write is often stale. A document missing from the answer was
        deleted in QuickBooks."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for doc in docs:
            wanted[doc.kind.entity].add(str(doc.qbo_id))
        out: dict[tuple[str, str], str] = {}
        for entity, ids in wanted.items():
            ordered = sorted(ids, key=lambda i: (len(i), i))
            for start in range(0, len(ordered), 200):
                part = ordered[start : start + 200]
                listed = ", ".join(sql_string(i) for i in part)
                rows = self.ctx.client.query(
                    f"SELECT * FROM {entity} WHERE Id IN ({listed}) MAXRESULTS 1000"  # noqa: S608
                )
                found = {str(r.get("Id")): str(r.get("SyncToken", "0")) for r in rows}
                for i in part:
                    out[(entity, i)] = found.get(i, MISSING)
        return out

    # -- one operation --------------------------------------------------------------------

    def _prepare(
        self,
        op: PlannedOp,
        doc: SyncDocument,
        tokens: dict[tuple[str, str], str],
        docs: Docs,
    ) -> Work | None:
        ctx, journal, d = self.ctx, self.ctx.journal, op.desired
        if d is not None:
            doc.sale_id = d.sale_id
            doc.profile_id = d.profile_id or doc.profile_id
            if d.error:
                journal.not_sent(doc, d.error)
                self.counts["failed"] += 1
                return None
        when = d.txn_date if d is not None else _recorded_date(doc)
        if op.kind in TRANSACTIONS and ctx.close_date and when and when <= ctx.close_date:
            journal.not_sent(doc, closed_period(op.label, when, ctx.close_date), code="6210")
            self.counts["failed"] += 1
            return None
        token = doc.sync_token or "0"
        if op.kind in TRANSACTIONS and doc.qbo_id and op.op is not OpKind.CREATE:
            token = tokens.get((doc.kind.entity, doc.qbo_id), token)
            if token == MISSING:  # deleted in QuickBooks meanwhile: created again next run
                doc.live = False
                journal.synced(doc)
                ctx.remember(doc)
                return None
        if op.op in (OpKind.VOID, OpKind.DELETE):
            body: dict[str, Any] = {"Id": doc.qbo_id, "SyncToken": token}
            if op.op is OpKind.VOID and doc.kind is not DocKind.INVOICE:
                body["sparse"] = True
            return Work(doc, op.op, body, None, doc.facts, label=op.label)
        assert d is not None
        if d.waits_for is not None and not ctx.resolve(d.waits_for):
            self._blocked(doc, d.waits_for, docs)
            return None
        try:
            body = resolve(d.body, ctx.resolve)
        except Unresolved as missing:
            self._blocked(doc, missing.ref, docs)
            return None
        facts = recorded_facts(d.facts, ctx.resolve)
        facts["date"] = d.txn_date.isoformat() if d.txn_date else None
        op_hash = content_hash(body)
        extra = {"desired": d, "planned": op}
        if op.op is OpKind.CREATE:
            return Work(doc, OpKind.CREATE, body, op_hash, facts, op.include, op.label, extra=extra)
        if op.unapply:
            body = {"Id": doc.qbo_id, "SyncToken": token, "sparse": True, "Line": []}
            facts = {**(doc.facts or {}), "invoice": None, "applied": "0.00"}
            return Work(doc, OpKind.UPDATE, body, None, facts, label=op.label, extra=extra)
        if doc.live and op_hash == doc.payload_hash:  # it only looked changed before resolving
            journal.synced(doc)
            self.counts["unchanged"] += 1
            return None
        update = {k: v for k, v in body.items() if k not in ACCOUNT_KEYS}
        if doc.kind is DocKind.CUSTOMER:
            for key, cleared in CLEARED.items():
                update.setdefault(key, cleared)
        update.update(Id=doc.qbo_id, SyncToken=token, sparse=True)
        return Work(doc, OpKind.UPDATE, update, op_hash, facts, label=op.label, extra=extra)

    def _blocked(self, doc: SyncDocument, ref: Ref, docs: Docs) -> None:
        parent = docs.get((ref.kind, ref.local_id))
        if parent is None:
            parent = self.ctx.journal.load(ref.kind, [ref.local_id]).get(ref.local_id)
        label = self.labels.get((ref.kind, ref.local_id)) or f"{ref.kind.value} {ref.local_id}"
        self.ctx.journal.blocked(doc, label, parent)
        self.counts["blocked"] += 1

    # -- sending and settling --------------------------------------------------------------

    def send(self, works: list[Work], retried: bool = False) -> None:
        """Journal and send; settle every outcome; give refusals their one follow-up."""
        if not works:
            return
        self.ctx.writer.send(works)
        self.ctx.heartbeat()
        again = self._settle_all(works, follow_ups=not retried)
        if again:
            self.send(again, retried=True)

    def resend(self, docs: Sequence[SyncDocument]) -> None:
        """Resend unanswered operations exactly as journaled and settle them (no follow-up:
        what QuickBooks answers now is the answer to the question first asked)."""
        self._settle_all(self.ctx.writer.resend(docs), follow_ups=False)

    def _settle_all(self, works: list[Work], *, follow_ups: bool) -> list[Work]:
        """Record every outcome and commit; return the follow-up operations to send."""
        refused = [w for w in works if w.result is None and w.answered and w.error is not None]
        existing = self._clashing_customers(refused) if follow_ups else {}
        again: list[Work] = []
        for w in works:
            if w.result is not None:
                self.settled(w)
                continue
            error = w.error or QBORequestError("QuickBooks gave no answer", request_id=None)
            if not w.answered:
                self.ctx.journal.unanswered(w.doc, error)
                self.counts["failed"] += 1
                continue
            follow = self._follow_up(w, existing) if follow_ups else None
            if follow is None:
                if w.doc.op_request_id:
                    self.ctx.journal.refused(w.doc, error)
                self.counts["failed"] += 1
            else:
                again.append(follow)
        self.ctx.journal.commit()
        return again

    def settled(self, w: Work) -> None:
        op = w.doc.op_kind
        self.ctx.journal.succeeded(w.doc, w.result or {})
        self.ctx.remember(w.doc)
        self.counts["created" if op is OpKind.CREATE else "updated"] += 1
        if w.doc.kind in TRANSACTIONS:
            self.ctx.touched[(w.doc.kind, w.doc.local_id)] = {
                "qbo_id": w.doc.qbo_id,
                "live": w.doc.live,
                "facts": w.doc.facts or {},
            }

    # -- follow-ups ------------------------------------------------------------------------

    def _follow_up(self, w: Work, existing: dict[str, list[dict[str, Any]]]) -> Work | None:
        err = w.error
        assert err is not None
        code = err.code or ""
        if code == "5010" and w.op is not OpKind.CREATE and w.doc.qbo_id:
            current = self.ctx.client.read(w.entity, str(w.doc.qbo_id))
            self.ctx.journal.refused(w.doc, err)
            body = {**w.body, "SyncToken": str(current.get("SyncToken", "0"))}
            return Work(w.doc, w.op, body, w.op_hash, w.facts, w.include, w.label, extra=w.extra)
        kind = w.doc.kind
        if kind in TRANSACTIONS and code in ("610", "6250") and w.op is not OpKind.VOID:
            return self._reactivate(w)
        if kind is DocKind.CUSTOMER and code == "6240":
            return self._customer_clash(w, existing)
        if kind is DocKind.INVOICE and code == "6140" and w.op is OpKind.CREATE:
            return self._number_clash(w)
        if kind is DocKind.INVOICE and code == "6140" and w.op is OpKind.UPDATE:
            return self._update_beside_voided(w)
        if kind in (DocKind.ITEM, DocKind.PAYMENT_METHOD) and w.op is OpKind.CREATE:
            return self._existing_list_entry(w, code)
        return None

    def _reactivate(self, w: Work) -> Work | None:
        """610: a customer or item the document refers to was made inactive in QuickBooks. Make
        the ones that are ours active again (as the CRM still uses them), then retry once."""
        refs: dict[str, set[str]] = {"Customer": set(), "Item": set()}
        customer = (w.body.get("CustomerRef") or {}).get("value")
        if customer:
            refs["Customer"].add(str(customer))
        for line in w.body.get("Line") or []:
            item = ((line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}).get("value")
            if item:
                refs["Item"].add(str(item))
        kinds = {"Customer": DocKind.CUSTOMER, "Item": DocKind.ITEM}
        again: list[Work] = []
        for entity, ids in refs.items():
            if not ids:
                continue
            listed = ", ".join(sql_string(i) for i in sorted(ids))
            rows = self.ctx.client.query(
                f"SELECT * FROM {entity} WHERE Id IN ({listed}) "  # noqa: S608
                "AND Active IN (true, false)"
            )
            inactive = {str(r["Id"]): r for r in rows if r.get("Active") in (False, "false")}
            if not inactive:
                continue
            docs = self.ctx.session.scalars(
                sa.select(SyncDocument).where(
                    SyncDocument.company_id == self.ctx.company.id,
                    SyncDocument.kind == kinds[entity],
                    SyncDocument.qbo_id.in_(sorted(inactive)),
                )
            )
            for doc in docs:
                if doc.in_flight:
                    continue
                row = inactive[str(doc.qbo_id)]
                body = {
                    "Id": doc.qbo_id,
                    "SyncToken": str(row.get("SyncToken", "0")),
                    "sparse": True,
                    "Active": True,
                }
                label = f"{entity.lower()} {row.get('DisplayName') or row.get('Name')}"
                doc.cleaned = "; ".join(
                    filter(None, [doc.cleaned, "made active again: it was inactive in QuickBooks"])
                )
                again.append(
                    Work(doc, OpKind.UPDATE, body, doc.payload_hash, doc.facts, label=label)
                )
        if not again:
            return None
        self.ctx.journal.refused(w.doc, w.error)  # type: ignore[arg-type]
        self.ctx.writer.send(again)
        for a in again:
            if a.result is not None:
                self.settled(a)
            elif a.answered and a.error is not None:
                self.ctx.journal.refused(a.doc, a.error)
        self.ctx.journal.commit()
        if not all(a.result is not None for a in again):
            return None
        return Work(w.doc, w.op, w.body, w.op_hash, w.facts, w.include, w.label, extra=w.extra)

    def _clashing_customers(self, works: list[Work]) -> dict[str, list[dict[str, Any]]]:
        """One query for all the names QuickBooks said were taken (6240), not one per name."""
        names = sorted(
            {
                str(w.body.get("DisplayName"))
                for w in works
                if w.doc.kind is DocKind.CUSTOMER and w.error is not None and w.error.code == "6240"
            }
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(names), 30):
            listed = ", ".join(sql_string(n) for n in names[start : start + 30])
            for cust in self.ctx.client.query(
                f"SELECT * FROM Customer WHERE DisplayName IN ({listed}) "  # noqa: S608
                "AND Active IN (true, false)"
            ):
                found.setdefault(str(cust.get("DisplayName", "")).casefold(), []).append(cust)
        return found

    def _taken(self, qbo_id: str, local_id: str) -> bool:
        """Whether another CRM customer already owns this QuickBooks customer here."""
        return bool(
            self.ctx.session.scalar(
                sa.select(sa.func.count())
                .select_from(SyncDocument)
                .where(
                    SyncDocument.company_id == self.ctx.company.id,
                    SyncDocument.kind == DocKind.CUSTOMER,
                    SyncDocument.qbo_id == qbo_id,
                    SyncDocument.local_id != local_id,
                )
            )
        )

    def _customer_clash(self, w: Work, existing: dict[str, list[dict[str, Any]]]) -> Work | None:
        """6240: link to the same person (e-mail or phone) not owned by another CRM customer;
        else take the unique name "<name> (C-<id>)" (kept for later runs)."""
        customer = self.customers.get(w.doc.local_id)
        if customer is None:
            return None
        name = str(w.body.get("DisplayName", ""))
        journal = self.ctx.journal
        journal.refused(w.doc, w.error)  # type: ignore[arg-type]
        matches = existing.get(name.casefold(), [])
        if w.op is OpKind.CREATE and matches:
            match = matches[0]
            if same_person(customer, match) and not self._taken(str(match["Id"]), customer.id):
                journal.linked(w.doc, match, f"linked to the existing QuickBooks customer {name!r}")
                body = {
                    **{k: v for k, v in w.body.items() if k not in ACCOUNT_KEYS},
                    **{k: v for k, v in CLEARED.items() if k not in w.body},
                    "Id": w.doc.qbo_id,
                    "SyncToken": w.doc.sync_token,
                    "sparse": True,
                }
                return Work(w.doc, OpKind.UPDATE, body, w.op_hash, w.facts, label=w.label)
        base = to_qbo_customer(customer).display_name
        w.doc.qbo_name = disambiguated_display_name(base, customer.id)
        mapped = to_qbo_customer(customer, display_name=w.doc.qbo_name)
        w.doc.cleaned = "; ".join(
            [*mapped.notes, f"named {w.doc.qbo_name!r}: {name!r} is taken in QuickBooks"]
        )
        body = {**mapped.body, "Active": True}
        op_hash = content_hash(body)
        if w.op is OpKind.UPDATE:
            update = {**body, **{k: v for k, v in CLEARED.items() if k not in body}}
            update.update(Id=w.doc.qbo_id, SyncToken=w.body.get("SyncToken"), sparse=True)
            return Work(w.doc, OpKind.UPDATE, update, op_hash, w.facts, label=w.label)
        return Work(w.doc, OpKind.CREATE, body, op_hash, w.facts, label=w.label)

    def _number_clash(self, w: Work) -> Work | None:
        """6140: our own voided invoice holds the number (a restored sale): create anyway; the
        same sale already in QuickBooks: link it; anything else: fail with the reason."""
        doc_number = str(w.body.get("DocNumber", ""))
        rows = self.ctx.client.query(
            f"SELECT * FROM Invoice WHERE DocNumber = {sql_string(doc_number)}"  # noqa: S608
        )
        journal = self.ctx.journal
        journal.refused(w.doc, w.error)  # type: ignore[arg-type]
        ours = {d.qbo_id for d in self._invoices_with_ids([str(r.get("Id")) for r in rows])}
        if rows and all(str(r.get("Id")) in ours and _voided(r) for r in rows):
            return Work(
                w.doc, OpKind.CREATE, w.body, w.op_hash, w.facts, ALLOW_DUPLICATE_NUMBER, w.label
            )
        total = Decimal(str(w.facts.get("total", "0"))) if w.facts else Decimal("0")
        for inv in rows:
            if (
                not _voided(inv)
                and str(inv.get("Id")) not in ours
                and str((inv.get("CustomerRef") or {}).get("value"))
                == w.body["CustomerRef"]["value"]
                and str(inv.get("TxnDate")) == w.body["TxnDate"]
                and Decimal(str(inv.get("TotalAmt"))) == total
            ):
                journal.linked(
                    w.doc, inv, f"linked to the existing QuickBooks invoice {doc_number}"
                )
                update = {k: v for k, v in w.body.items() if k not in ACCOUNT_KEYS}
                update.update(Id=w.doc.qbo_id, SyncToken=w.doc.sync_token, sparse=True)
                return Work(w.doc, OpKind.UPDATE, update, w.op_hash, w.facts, label=w.label)
        return None

    def _update_beside_voided(self, w: Work) -> Work | None:
        """6140 on an update: a restored sale's invoice shares its number with voided invoices
        (the one it replaced), as it was created to. Send the update as that create was sent,
        allowing the duplicate number; a live invoice holding the number is a real clash."""
        doc_number = str(w.body.get("DocNumber", ""))
        rows = self.ctx.client.query(
            f"SELECT * FROM Invoice WHERE DocNumber = {sql_string(doc_number)}"  # noqa: S608
        )
        self.ctx.journal.refused(w.doc, w.error)  # type: ignore[arg-type]
        others = [r for r in rows if str(r.get("Id")) != str(w.doc.qbo_id)]
        if w.include is not None or not others or not all(_voided(r) for r in others):
            return None
        return Work(
            w.doc,
            OpKind.UPDATE,
            w.body,
            w.op_hash,
            w.facts,
            ALLOW_DUPLICATE_NUMBER,
            w.label,
            extra=w.extra,
        )

    def _invoices_with_ids(self, ids: list[str]) -> list[SyncDocument]:
        if not ids:
            return []
        return list(
            self.ctx.session.scalars(
                sa.select(SyncDocument).where(
                    SyncDocument.company_id == self.ctx.company.id,
                    SyncDocument.kind == DocKind.INVOICE,
                    SyncDocument.qbo_id.in_(ids),
                )
            )
        )

    def _existing_list_entry(self, w: Work, code: str) -> Work | None:
        """An item or payment method of that name exists (maybe inactive): use it."""
        if code not in ("6240", "6000", "2500"):
            return None
        self.ctx.lists_read = False
        self.ctx.read_lists()
        name = str(w.body.get("Name", "")).casefold()
        table = self.ctx.existing_items if w.doc.kind is DocKind.ITEM else self.ctx.existing_methods
        found = table.get(name)
        if found is None:
            return None
        journal = self.ctx.journal
        journal.refused(w.doc, w.error)  # type: ignore[arg-type]
        journal.linked(w.doc, found, f"linked to the existing QuickBooks entry {found['Name']!r}")
        body = {"Id": w.doc.qbo_id, "SyncToken": w.doc.sync_token, "sparse": True, "Active": True}
        return Work(w.doc, OpKind.UPDATE, body, w.op_hash, w.facts, label=w.label)


def _voided(doc: dict[str, Any]) -> bool:
    return doc.get("PrivateNote") == "Voided" or Decimal(str(doc.get("TotalAmt", "0"))) == 0
