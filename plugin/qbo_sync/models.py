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


class SyncProfile(TimestampMixin, Base):
    """One QuickBooks company ("workbook") connected for one market segment, or for all."""

    __tablename__ = "qbo_sync_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None means "all segments"; unique so each segment has at most one profile.
    segment_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    segment_name: Mapped[str] = mapped_column(sa.String(200))
    sync_after: Mapped[date | None]
    realm_id: Mapped[str | None] = mapped_column(sa.String(32))
    company_name: Mapped[str | None] = mapped_column(sa.String(200))
    connected_at: Mapped[datetime | None]
    # Fernet tokens (see connection.tokens); never the plain token.
    access_token_enc: Mapped[str | None] = mapped_column(sa.Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_enc: Mapped[str | None] = mapped_column(sa.Text)
    refresh_token_expires_at: Mapped[datetime | None]
    reconnect_needed: Mapped[bool] = mapped_column(default=False)
    ar_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    ar_account_name: Mapped[str | None] = mapped_column(sa.String(200))
    income_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    income_account_name: Mapped[str | None] = mapped_column(sa.String(200))
    deposit_account_id: Mapped[str | None] = mapped_column(sa.String(32))
    deposit_account_name: Mapped[str | None] = mapped_column(sa.String(200))

    runs: Mapped[list[SyncRun]] = relationship(
        back_populates="profile", order_by="SyncRun.id.desc()", lazy="dynamic"
    )

    @property
    def is_connected(self) -> bool:
        return bool(self.realm_id and self.refresh_token_enc and not self.reconnect_needed)


class SyncRun(TimestampMixin, Base):
    """One synchronization of one profile; its phases are the "Synchronization Details"."""

    __tablename__ = "qbo_sync_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_profile.id"), index=True)
    realm_id: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[RunStatus] = enum_column(RunStatus, default=RunStatus.QUEUED)
    trigger: Mapped[str] = mapped_column(sa.String(32), default="manual")
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

    profile: Mapped[SyncProfile] = relationship(back_populates="runs")
    phases: Mapped[list[SyncRunPhase]] = relationship(
        back_populates="run", order_by="SyncRunPhase.id", cascade="all, delete-orphan"
    )


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


class SyncRecord(TimestampMixin, Base):
    """What the plugin knows of one local record in one company: its QuickBooks twin and outcome.

    Kept per (profile, realm) so clearing a connection and reconnecting to the same company
    finds the same twins, while a different company starts clean.
    """

    __tablename__ = "qbo_sync_record"
    __table_args__ = (sa.UniqueConstraint("profile_id", "realm_id", "kind", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("qbo_sync_profile.id"), index=True)
    realm_id: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16))
    local_id: Mapped[str] = mapped_column(sa.String(64))
    qbo_type: Mapped[str | None] = mapped_column(sa.String(32))
    qbo_id: Mapped[str | None] = mapped_column(sa.String(32))
    sync_token: Mapped[str | None] = mapped_column(sa.String(16))
    payload_hash: Mapped[str | None] = mapped_column(sa.String(64))
    payload_version: Mapped[int] = mapped_column(default=0)
    status: Mapped[RecordStatus] = enum_column(RecordStatus, default=RecordStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    request_id: Mapped[str | None] = mapped_column(sa.String(50))
    dirty: Mapped[bool] = mapped_column(default=False)  # changed in the CRM since last push
    deleted: Mapped[bool] = mapped_column(default=False)  # gone (or cancelled) in the CRM
    cleaned: Mapped[str | None] = mapped_column(sa.Text)  # what was changed to suit QuickBooks
    # The name used in QuickBooks when it had to differ from the mapped one (a name clash).
    qbo_name: Mapped[str | None] = mapped_column(sa.String(500))
    error_code: Mapped[str | None] = mapped_column(sa.String(16))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    error_detail: Mapped[str | None] = mapped_column(sa.Text)
    error_element: Mapped[str | None] = mapped_column(sa.String(200))
    intuit_tid: Mapped[str | None] = mapped_column(sa.String(100))
    # The request id of the write QuickBooks refused (request_id is only the one in flight).
    error_request_id: Mapped[str | None] = mapped_column(sa.String(50))
    explanation: Mapped[str | None] = mapped_column(sa.Text)  # plain words for the bookkeeper
    # Why it did not get through at the root: its own reason when FAILED, when BLOCKED the root
    # cause of the record it waits for (so failures group by what must be fixed).
    root_cause: Mapped[str | None] = mapped_column(sa.Text)
    last_run_id: Mapped[int | None]


sa.Index("ix_qbo_sync_record_status", SyncRecord.profile_id, SyncRecord.status)
