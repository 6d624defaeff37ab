"""What the admin page shows, computed from the plugin's tables: profile cards, the progress of
active runs (also as JSON), the last run's details and the failures grouped by cause."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..details import phase_lines
from ..health import HealthWarning
from ..links import document_url
from ..localtime import when as local_when
from ..models import (
    CompanyList,
    DocKind,
    ListKind,
    RecordStatus,
    RunStatus,
    SyncDocument,
    SyncProfile,
    SyncRun,
)
from ..source import CRMSource, RecordKind
from ..state import qbo_state

PHASE_NAMES = {
    "customers": "Customer Synchronization",
    "items": "Item Synchronization",
    "sales": "Sale Synchronization",
    "receipts": "Receipt Synchronization",
}
KIND_WORDS = {
    "customer": ("customer", "customers"),
    "item": ("item", "items"),
    "invoice": ("sale", "sales"),
    "payment": ("receipt", "receipts"),
    "credit_memo": ("adjustment", "adjustments"),
    "credit_app": ("adjustment application", "adjustment applications"),
    "paymethod": ("payment method", "payment methods"),
}
OUTCOMES = {
    RunStatus.QUEUED: "queued",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.PARTIAL: "finished with problems",
    RunStatus.FAILED: "stopped",
}
MAX_ROWS = 500
# The kinds whose local id is a CRM row the host can link to.
LINKABLE = {
    DocKind.CUSTOMER: RecordKind.CUSTOMER,
    DocKind.INVOICE: RecordKind.SALE,
    DocKind.PAYMENT: RecordKind.RECEIPT,
    DocKind.CREDIT_MEMO: RecordKind.ADJUSTMENT,
    DocKind.CREDIT_APPLICATION: RecordKind.ADJUSTMENT,
}


def office_zone() -> tzinfo:
    """The office's time zone (QBO_SYNC_TIME_ZONE, else the host's)."""
    return qbo_state().settings.zone


def when(value: datetime | None) -> str:
    """A stored (UTC) time as the office reads it: "5/20/2015 1:06 PM"."""
    return local_when(value, office_zone())


def kind_word(kind: str, count: int = 1) -> str:
    one, many = KIND_WORDS.get(kind, (kind, kind + "s"))
    return one if count == 1 else many


def progress(run: SyncRun) -> dict[str, Any]:
    """An active run's progress, for the banner and the status JSON (no secrets here)."""
    phase = run.phase.value if run.phase else None
    total, done = int(run.progress_total or 0), int(run.progress_done or 0)
    if run.status is RunStatus.QUEUED:
        label = "Waiting for the worker to start"
    elif phase:
        label = f"{PHASE_NAMES.get(phase, phase)}: {done} of {total}"
    else:
        label = "Starting"
    return {
        "run_id": run.id,
        "profile_id": run.profile_id,
        "company_id": run.company_id,
        "segment": run.profile.segment_name if run.profile is not None else run.label,
        "status": run.status.value,
        "phase": phase,
        "done": done,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
        "label": label,
    }


@dataclass
class FailureRow:
    record: SyncDocument
    kind_label: str
    url: str | None
    cause: str
    # Where the document opens in QuickBooks, when it is there (an update refused, say).
    qbo_url: str | None = None
    # How the CRM names it ("Receipt R001"), and its kind for the record's timeline.
    label: str = ""
    record_kind: RecordKind | None = None


@dataclass
class CauseGroup:
    cause: str
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def summary(self) -> str:
        parts = []
        for status in ("failed", "blocked"):
            kinds = [
                f"{n} {kind_word(kind, n)}"
                for (kind, st), n in sorted(self.counts.items())
                if st == status
            ]
            if kinds:
                parts.append(f"{', '.join(kinds)} {status}")
        return f"{self.cause.rstrip('.')}: {'; '.join(parts)}"


def cause_of(rec: SyncDocument) -> str:
    """The root reason, as the engine kept it (for a blocked record, its parent's)."""
    if rec.root_cause:
        return rec.root_cause
    if rec.status is RecordStatus.BLOCKED:
        return "Waiting for a record that has not reached QuickBooks yet"
    return rec.explanation or rec.error_message or "No reason recorded"


@dataclass
class Failures:
    rows: list[FailureRow]
    groups: list[CauseGroup]
    total: int


def _mine(profile: SyncProfile) -> sa.ColumnElement[bool] | None:
    """The documents of the profile's scope in its company (customers and lists, which several
    profiles share, on the company's first profile); None when it has no company."""
    company = profile.company
    if company is None:
        return None
    mine: sa.ColumnElement[bool] = SyncDocument.profile_id == profile.id
    if company.profiles and company.profiles[0].id == profile.id:
        mine = sa.or_(mine, SyncDocument.profile_id.is_(None))
    return sa.and_(SyncDocument.company_id == company.id, mine)


def _url(rec: SyncDocument, record_url: Any) -> str | None:
    linkable = LINKABLE.get(rec.kind)
    return record_url(linkable, rec.local_id) if linkable and rec.local_id.isdigit() else None


def crm_labels(source: CRMSource, records: Sequence[SyncDocument]) -> dict[tuple[str, str], str]:
    """(document kind, local id) -> how the CRM names the record, one query per kind; the
    documents of lists (items, payment methods) are named by their kind and name key."""
    wanted: dict[RecordKind, set[str]] = {}
    for rec in records:
        linkable = LINKABLE.get(rec.kind)
        if linkable is not None:
            wanted.setdefault(linkable, set()).add(rec.local_id)
    names = {kind: source.record_labels(kind, sorted(ids)) for kind, ids in wanted.items()}
    out: dict[tuple[str, str], str] = {}
    for rec in records:
        linkable = LINKABLE.get(rec.kind)
        found = names.get(linkable, {}).get(rec.local_id) if linkable is not None else None
        out[(rec.kind, rec.local_id)] = found or f"{kind_word(rec.kind)} {rec.local_id}"
    return out


def _qbo_url(profile: SyncProfile, rec: SyncDocument) -> str | None:
    return document_url(qbo_state().settings, profile.realm_id, rec.kind, rec.qbo_id)


def failures(session: Session, profile: SyncProfile, source: CRMSource) -> Failures:
    """Every failed or blocked document of the profile's scope in its company, by cause; the
    rows listed name their records as the CRM does."""
    mine = _mine(profile)
    if mine is None:
        return Failures([], [], 0)
    records = session.scalars(
        sa.select(SyncDocument)
        .where(mine, SyncDocument.status.in_([RecordStatus.FAILED, RecordStatus.BLOCKED]))
        .order_by(SyncDocument.status.desc(), SyncDocument.kind, SyncDocument.id)
    ).all()
    groups: dict[str, CauseGroup] = {}
    rows: list[FailureRow] = []
    for rec in records:
        cause = cause_of(rec)
        group = groups.setdefault(cause, CauseGroup(cause))
        group.counts[(rec.kind, rec.status.value)] += 1
        if len(rows) < MAX_ROWS:
            qbo = _qbo_url(profile, rec) if rec.live else None
            url = _url(rec, source.record_url)
            rows.append(FailureRow(rec, kind_word(rec.kind), url, cause, qbo))
    labels = crm_labels(source, [row.record for row in rows])
    for row in rows:
        row.label = labels[(row.record.kind, row.record.local_id)]
        row.record_kind = LINKABLE.get(row.record.kind)
    ordered = sorted(groups.values(), key=lambda g: (-sum(g.counts.values()), g.cause))
    return Failures(rows, ordered, len(records))


@dataclass
class CleanedRow:
    """A record that reached QuickBooks changed to suit it, and what was changed."""

    record: SyncDocument
    kind_label: str
    url: str | None
    notes: list[str]
    qbo_url: str | None = None
    label: str = ""
    record_kind: RecordKind | None = None


def cleaning_notes(rec: SyncDocument) -> list[str]:
    """What was changed to suit QuickBooks: the mapping's notes of the last confirmed write,
    then the engine's (a name clash, a link to an existing record, made active again)."""
    notes = [str(n) for n in ((rec.facts or {}).get("notes") or [])]
    notes += [n for n in (rec.cleaned or "").split("; ") if n and n not in notes]
    return notes


def cleaned(session: Session, profile: SyncProfile, source: CRMSource) -> list[CleanedRow]:
    """The live records of the profile's scope QuickBooks holds cleaned (first MAX_ROWS)."""
    mine = _mine(profile)
    if mine is None:
        return []
    # the facts are JSON (text on both databases): a non-empty "notes" list, as json.dumps has it
    with_notes = sa.cast(SyncDocument.facts, sa.Text).contains('"notes": ["')
    records = session.scalars(
        sa.select(SyncDocument)
        .where(mine, SyncDocument.live, sa.or_(SyncDocument.cleaned.is_not(None), with_notes))
        .order_by(SyncDocument.kind, SyncDocument.id)
        .limit(MAX_ROWS)
    ).all()
    rows = []
    for rec in records:
        notes = cleaning_notes(rec)
        if notes:
            url = _url(rec, source.record_url)
            rows.append(CleanedRow(rec, kind_word(rec.kind), url, notes, _qbo_url(profile, rec)))
    labels = crm_labels(source, [row.record for row in rows])
    for row in rows:
        row.label = labels[(row.record.kind, row.record.local_id)]
        row.record_kind = LINKABLE.get(row.record.kind)
    return rows


@dataclass
class ProfileCard:
    profile: SyncProfile
    active: SyncRun | None
    last: SyncRun | None
    finished: SyncRun | None
    details: list[str]
    failures: Failures
    cleaned: list[CleanedRow] = field(default_factory=list)
    accounts: dict[str, list[dict[str, Any]]] | None = None
    accounts_problem: str | None = None
    health: list[HealthWarning] = field(default_factory=list)
    # The company's kept lists (chart of accounts, items, payment methods) and when read.
    lists: dict[ListKind, CompanyList] = field(default_factory=dict)

    @property
    def last_outcome(self) -> str:
        if self.last is None:
            return "never synchronized"
        words = OUTCOMES.get(self.last.status, self.last.status.value)
        return f"{words}: {self.last.message}" if self.last.message else words


def last_runs(session: Session, company_id: int | None) -> tuple[SyncRun | None, SyncRun | None]:
    """The company's latest run, and its latest run that has ended."""
    if company_id is None:
        return None, None
    base = sa.select(SyncRun).where(SyncRun.company_id == company_id).order_by(SyncRun.id.desc())
    last = session.scalar(base.limit(1))
    finished = session.scalar(base.where(SyncRun.ended_at.is_not(None)).limit(1))
    return last, finished


LIST_WORDS = {
    ListKind.ACCOUNTS: ("account", "accounts"),
    ListKind.ITEMS: ("item", "items"),
    ListKind.PAYMENT_METHODS: ("payment method", "payment methods"),
}


def lists_summary(lists: dict[ListKind, CompanyList]) -> str:
    """ "12 accounts, 5 items and 3 payment methods, read 12/1/2026 1:05 PM"; "" if never read."""
    if not lists:
        return ""
    parts = []
    for kind, (one, many) in LIST_WORDS.items():
        if kind in lists:
            n = len(lists[kind].entries)
            parts.append(f"{n} {one if n == 1 else many}")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"{text}, read {when(min(row.read_at for row in lists.values()))}"


def details_of(run: SyncRun | None) -> list[str]:
    return phase_lines(run, office_zone()) if run is not None else []


ACCOUNT_TYPES = {
    "ar": ("Accounts Receivable",),
    "income": ("Income",),
    "deposit": ("Other Current Asset", "Bank"),
}


def account_choices(chart: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The chart of accounts cut into the three dropdowns (active accounts only)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, types in ACCOUNT_TYPES.items():
        out[key] = sorted(
            (
                {
                    "id": str(a.get("Id")),
                    "name": str(a.get("Name") or a.get("Id")),
                    "sub": str(a.get("AccountSubType") or ""),
                }
                for a in chart
                if a.get("AccountType") in types and a.get("Active", True) not in (False, "false")
            ),
            key=lambda a: a["name"].casefold(),
        )
    return out


def default_account(key: str, choices: list[dict[str, Any]], saved_id: str | None) -> str | None:
    """The saved account, else the engine's defaults (first A/R, "Sales of Product Income",
    Undeposited Funds)."""
    ids: list[str | None] = [c["id"] for c in choices]
    if saved_id and saved_id in ids:
        return saved_id
    if key == "income":
        named: list[str | None] = [
            c["id"] for c in choices if c["name"] == "Sales of Product Income"
        ]
        return (named or ids or [None])[0]
    if key == "deposit":
        named = [c["id"] for c in choices if c["sub"] == "UndepositedFunds"]
        named += [c["id"] for c in choices if c["name"] == "Undeposited Funds"]
        return (named or [None])[0]
    return (ids or [None])[0]


def status_payload(active: list[SyncRun]) -> dict[str, Any]:
    return {"active": bool(active), "runs": [progress(r) for r in active]}
