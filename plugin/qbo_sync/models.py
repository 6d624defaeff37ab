"""The plugin's own tables (prefix qbo_sync_): profiles, runs, phases and per-record sync state.

They live in their own SQLAlchemy metadata so the plugin never needs the host's models; the host
puts this metadata into its single migration history and uses one session for both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # everything in scope reached QuickBooks
    PARTIAL = "partial"  # finished, some records failed or are blocked
    FAILED = "failed"  # stopped early (reconnect needed, worker lost, ...)


class RecordStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SYNCED = "synced"
    NEEDS_UPDATE = "needs_update"
    BLOCKED = "blocked"
    FAILED = "failed"


class ScheduleKind(StrEnum):
    """How a company's runs start by themselves (see schedule.py)."""

    OFF = "off"
    EVERY = "every"  # every `schedule_minutes` minutes
    DAILY = "daily"  # once a day at `schedule_daily_at` ("HH:MM"), the office's local time


class FiringOutcome(StrEnum):
    """What the last scheduled firing of a company did."""

    STARTED = "started"  # it started a run
    SKIPPED = "skipped"  # a run of the company was active: no second one
    WAITING = "waiting"  # the company is not connected or needs reconnecting


class Phase(StrEnum):
    CUSTOMERS = "customers"
    ITEMS = "items"
    SALES = "sales"
    RECEIPTS = "receipts"


def enum_column(enum: type[StrEnum], **kw: Any) -> Any:
    return mapped_column(
        sa.Enum(
            enum,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
            create_constraint=False,
        ),
        **kw,
    )


class Company(TimestampMixin, Base):
    """One QuickBooks company (realm): its OAuth grant and the mirror of what was written there.

    Several profiles may point at one company; they share its connection, its customers and
    items, its documents, its run lock and its schedule. `fence` grows by one for each run that
    takes the company, so a run that was superseded finds out at its next commit.
    """

    __tablename__ = "qbo_sync_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    realm_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    company_name: Mapped[str | None] = mapped_column(sa.String(200))
    connected_at: Mapped[datetime | None]
    # Fernet tokens (see connection.tokens); never the plain token.
    access_token_enc: Mapped[str | None] = mapped_column(sa.Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_enc: Mapped[str | None] = mapped_column(sa.Text)
    refresh_token_expires_at: Mapped[datetime | None]
    # Intuit's hard cap on the grant (5 years after consent), as the token endpoint reports it.
    refresh_token_hard_expires_at: Mapped[datetime | None]
    reconnect_needed: Mapped[bool] = mapped_column(default=False)
    fence: Mapped[int] = mapped_column(default=0)
    # The schedule (schedule.py): the database holds it; Redis only the job of the next firing.
    schedule_kind: Mapped[ScheduleKind] = enum_column(ScheduleKind, default=ScheduleKind.OFF)
    schedule_minutes: Mapped[int | None]
    schedule_daily_at: Mapped[str | None] = mapped_column(sa.String(5))  # local "HH:MM"
    schedule_next_at: Mapped[datetime | None]  # the next firing (UTC); None when off
    # Grows each time the schedule is armed or changed: only the job naming it may fire.
    schedule_generation: Mapped[int] = mapped_column(default=0)
    schedule_fired_at: Mapped[datetime | None]  # the last firing, and what it did
    schedule_outcome: Mapped[FiringOutcome | None] = enum_column(FiringOutcome, nullable=True)

    profiles: Mapped[list[SyncProfile]] = relationship(
        back_populates="company", order_by="SyncProfile.segment_name"
    )

    @property
    def is_connected(self) -> bool:
        return bool(self.refresh_token_enc and not self.reconnect_needed)

    @property
    def label(self) -> str:
        return self.company_name or f"company {self.realm_id}"


class SyncProfile(TimestampMixin, Base):
    """A scope (one market segment, or all, and a Sync Data After date) and its accounts,
    synchronized into one QuickBooks company ("workbook")."""

    __tablename__ = "qbo_sync_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None means "all segments"; unique so each segment has at most one profile.
    segment_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    segment_name: Mapped[str] = mapped_column(sa.String(200))
    sync_after: Mapped[date | None]
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qbo_sync_company.id"), index=True)
    ar_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    ar_account_name: Mapped[str | None] = mapped_column(sa.String(200))
    income_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    income_account_name: Mapped[str | None] = mapped_column(sa.String(200))
    deposit_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    deposit_account_name: Mapped[str | None] = mapped_column(sa.String(200))

    company: Mapped[Company | None] = relationship(back_populates="profiles")

    @property
    def realm_id(self) -> str | None:
        return self.company.realm_id if self.company is not None else None

    @property
    def company_name(self) -> str | None:
        return self.company.company_name if self.company is not None else None

    @property
    def reconnect_needed(self) -> bool:
        return bool(self.company is not None and self.company.reconnect_needed)

    @property
    def is_connected(self) -> bool:
        return bool(self.company is not None and self.company.is_connected)


class RunTrigger(StrEnum):
    """What started a run (`SyncRun.trigger`); the values are stored, keep them."""

    ADMIN_PAGE = "admin page"
    RETRY = "retry"
    BULK_ACTION = "bulk action"
    SCHEDULE = "schedule"
    COMMAND_LINE = "command line"
    MANUAL = "manual"


class SyncRun(TimestampMixin, Base):
    """One synchronization of one company; its phases are the "Synchronization Details".

    `profile_id` is the profile whose button (or command) started it, if any; `started_by`
    the signed-in user who pressed it (None for the schedule and the command line).
    """

    __tablename__ = "qbo_sync_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_company.id"), index=True)
    profile_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qbo_sync_profile.id"))
    realm_id: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[RunStatus] = enum_column(RunStatus, default=RunStatus.QUEUED)
    trigger: Mapped[str] = mapped_column(sa.String(32), default=RunTrigger.MANUAL.value)
    started_by: Mapped[str | None] = mapped_column(sa.String(80))
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Limited runs (bulk action on selected sales) keep their sale ids here.
    sale_ids: Mapped[list[str] | None] = mapped_column(sa.JSON)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    phase: Mapped[Phase | None] = enum_column(Phase, nullable=True)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)
    # Requests the run made: requests, reads, writes, batches, retries, throttled (429s seen), ...
    stats: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    # Differences the read-back after the run found (plain words), if any.
    problems: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # The fencing token this run holds for its company (0 until it starts).
    fence: Mapped[int] = mapped_column(default=0)
    # How many times a worker (re)started it; above 1 it was resumed after a lost worker.
    attempts: Mapped[int] = mapped_column(default=0)

    company: Mapped[Company] = relationship()
    profile: Mapped[SyncProfile | None] = relationship()
    phases: Mapped[list[SyncRunPhase]] = relationship(
        back_populates="run", order_by="SyncRunPhase.id", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return self.company.label if self.company is not None else f"run {self.id}"


class SyncRunPhase(Base):
    """When one phase of a run started and ended, and what it did."""

    __tablename__ = "qbo_sync_run_phase"
    __table_args__ = (sa.UniqueConstraint("run_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_run.id"), index=True)
    phase: Mapped[Phase] = enum_column(Phase)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    blocked: Mapped[int] = mapped_column(default=0)

    run: Mapped[SyncRun] = relationship(back_populates="phases")


class DocKind(StrEnum):
    """The kinds of QuickBooks documents the plugin writes, each keyed by a CRM id or a name."""

    CUSTOMER = "customer"  # local id: CRM customer id
    ITEM = "item"  # local id: name key of the item name
    PAYMENT_METHOD = "paymethod"  # local id: name key of the method's name
    INVOICE = "invoice"  # local id: CRM sale id
    PAYMENT = "payment"  # local id: CRM receipt id
    CREDIT_MEMO = "credit_memo"  # local id: CRM adjustment id (one that reduces the balance)
    CREDIT_APPLICATION = "credit_app"  # local id: CRM adjustment id (the zero Payment applying it)

    @property
    def entity(self) -> str:
        return DOC_ENTITIES[self]


DOC_ENTITIES = {
    DocKind.CUSTOMER: "Customer",
    DocKind.ITEM: "Item",
    DocKind.PAYMENT_METHOD: "PaymentMethod",
    DocKind.INVOICE: "Invoice",
    DocKind.PAYMENT: "Payment",
    DocKind.CREDIT_MEMO: "CreditMemo",
    DocKind.CREDIT_APPLICATION: "Payment",
}
# Name lists: found by name or created once, never voided; kept for the whole run.
LIST_DOC_KINDS = (DocKind.CUSTOMER, DocKind.ITEM, DocKind.PAYMENT_METHOD)
SALE_DOC_KINDS = (
    DocKind.INVOICE,
    DocKind.PAYMENT,
    DocKind.CREDIT_MEMO,
    DocKind.CREDIT_APPLICATION,
)


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    VOID = "void"
    DELETE = "delete"


class SyncDocument(TimestampMixin, Base):
    """One QuickBooks document of one company: what we last wrote there, and the journal.

    Recorded state: `qbo_id`, `sync_token`, `payload_hash` and `facts` of the last write
    QuickBooks confirmed, and whether the document is `live` (not voided or deleted).
    Journal: at most one operation in flight (`op_*`): its kind, its exact body, the hash it
    settles with and its request id. Before anything new is planned for the document, an
    operation in flight is resent byte for byte under its own request id and settled.
    """

    __tablename__ = "qbo_sync_document"
    __table_args__ = (sa.UniqueConstraint("company_id", "kind", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_company.id"))
    kind: Mapped[DocKind] = enum_column(DocKind)
    local_id: Mapped[str] = mapped_column(sa.String(64))
    # The CRM sale a transaction belongs to (as last planned); None for customers and lists.
    sale_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The profile whose scope last planned it (for the page's grouping).
    profile_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qbo_sync_profile.id"))
    qbo_id: Mapped[str | None] = mapped_column(sa.String(32))
    sync_token: Mapped[str | None] = mapped_column(sa.String(16))
    payload_hash: Mapped[str | None] = mapped_column(sa.String(64))
    live: Mapped[bool] = mapped_column(default=False)
    # What the last confirmed write said, for planning and checking: amounts, links, customer.
    facts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Operations journaled so far; each new one takes the next number for its request id.
    generation: Mapped[int] = mapped_column(default=0)
    op_kind: Mapped[OpKind | None] = enum_column(OpKind, nullable=True)
    op_body: Mapped[str | None] = mapped_column(sa.Text)
    op_hash: Mapped[str | None] = mapped_column(sa.String(64))
    op_facts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    op_request_id: Mapped[str | None] = mapped_column(sa.String(50))
    op_include: Mapped[str | None] = mapped_column(sa.String(40))
    op_batch_id: Mapped[str | None] = mapped_column(sa.String(50))
    op_bid: Mapped[str | None] = mapped_column(sa.String(10))
    # Sent as a single request (journaled before it went); with no batch id either, the
    # operation was never sent and may go in a batch when resent.
    op_single: Mapped[bool | None]
    op_run_id: Mapped[int | None]
    status: Mapped[RecordStatus] = enum_column(RecordStatus, default=RecordStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    dirty: Mapped[bool] = mapped_column(default=False)  # changed in the CRM since last push
    cleaned: Mapped[str | None] = mapped_column(sa.Text)  # what was changed to suit QuickBooks
    # The name used in QuickBooks when it had to differ from the mapped one (a name clash).
    qbo_name: Mapped[str | None] = mapped_column(sa.String(500))
    error_code: Mapped[str | None] = mapped_column(sa.String(16))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    error_detail: Mapped[str | None] = mapped_column(sa.Text)
    error_element: Mapped[str | None] = mapped_column(sa.String(200))
    intuit_tid: Mapped[str | None] = mapped_column(sa.String(100))
    # The request id of the write QuickBooks refused.
    error_request_id: Mapped[str | None] = mapped_column(sa.String(50))
    explanation: Mapped[str | None] = mapped_column(sa.Text)  # plain words for the bookkeeper
    # Why it did not get through at the root: its own reason when FAILED, when BLOCKED the root
    # cause of the document it waits for (so failures group by what must be fixed).
    root_cause: Mapped[str | None] = mapped_column(sa.Text)
    last_run_id: Mapped[int | None]

    @property
    def in_flight(self) -> bool:
        return self.op_request_id is not None


sa.Index("ix_qbo_sync_document_status", SyncDocument.company_id, SyncDocument.status)
sa.Index("ix_qbo_sync_document_sale", SyncDocument.company_id, SyncDocument.sale_id)
sa.Index("ix_qbo_sync_document_inflight", SyncDocument.company_id, SyncDocument.op_request_id)


class EventKind(StrEnum):
    """What happened to a document, as its timeline tells it."""

    PREVIEWED = "previewed"  # a preview showed an operation the next run would make
    SENT = "sent"  # an operation was journaled and sent (its exact body kept)
    RESENT = "resent"  # an unanswered operation was sent again, exactly as journaled
    WRITTEN = "written"  # QuickBooks confirmed a create or an update
    VOIDED = "voided"  # QuickBooks confirmed a void or a delete
    LINKED = "linked"  # tied to a document QuickBooks already had (same name or number)
    FAILED = "failed"  # QuickBooks refused it, or it could not be sent as it is
    BLOCKED = "blocked"  # it waits for another document that is not in QuickBooks
    UNANSWERED = "unanswered"  # no answer came; the operation stays journaled


class SyncEvent(Base):
    """One event of a document's history (the record timeline), written by the journal in the
    transaction of the change it describes; previews add theirs from the page.

    `body` is the exact request body of a sent event; what changed is worked out from it when
    shown (see admin.field_changes).
    """

    __tablename__ = "qbo_sync_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_company.id"))
    run_id: Mapped[int | None] = mapped_column(index=True)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("qbo_sync_document.id"))
    kind: Mapped[DocKind] = enum_column(DocKind)
    local_id: Mapped[str] = mapped_column(sa.String(64))
    sale_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    event: Mapped[EventKind] = enum_column(EventKind)
    op: Mapped[OpKind | None] = enum_column(OpKind, nullable=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(50))
    intuit_tid: Mapped[str | None] = mapped_column(sa.String(100))
    qbo_id: Mapped[str | None] = mapped_column(sa.String(32))
    error_code: Mapped[str | None] = mapped_column(sa.String(16))
    message: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[SyncDocument | None] = relationship()


sa.Index("ix_qbo_sync_event_record", SyncEvent.kind, SyncEvent.local_id)


class ListKind(StrEnum):
    """The company's lists the page offers or reports, kept so no view reads QuickBooks."""

    ACCOUNTS = "Account"
    ITEMS = "Item"
    PAYMENT_METHODS = "PaymentMethod"


class CompanyList(Base):
    """A company's chart of accounts, items or payment methods as last read from QuickBooks:
    read when the company is connected and when the office asks, never on a page view."""

    __tablename__ = "qbo_sync_company_list"
    __table_args__ = (sa.UniqueConstraint("company_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_company.id"))
    kind: Mapped[ListKind] = enum_column(ListKind)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
