"""The "QuickBooks Online Sync" admin page: profiles per market segment, connecting them to a
QuickBooks company (OAuth), their settings, synchronizing, progress, details and failures.

Every route needs a signed-in user (the host's access check); every POST carries the host's
CSRF token (Flask-WTF CSRFProtect covers these views). No token or secret reaches a template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from werkzeug.wrappers import Response

from .. import company_lists
from ..config import Settings
from ..connection import TokenCipher, mark_unreadable
from ..connection.tokens import UNREADABLE
from ..engine import preview
from ..engine.books import books_check
from ..errors import ConfigurationError, QBOSyncError
from ..health import company_health
from ..jobs import active_run, start_sync, start_sync_all
from ..links import document_url
from ..localtime import zone_label
from ..models import Company, DocKind, RunTrigger, SyncDocument, SyncProfile, SyncRun, utcnow
from ..profiles import (
    ALL_SEGMENTS,
    accounts,
    connected_companies,
    find_profile,
    get_or_create_profile,
    refresh_lists,
    update_settings,
    use_company,
)
from ..source import RecordKind
from ..state import QBOSyncState, qbo_state
from .connect import ConnectionRoutes
from .history import HistoryRoutes, record_preview
from .panels import (
    ProfileCard,
    account_choices,
    cleaned,
    default_account,
    details_of,
    failures,
    last_runs,
    lists_summary,
    progress,
    status_payload,
    when,
)
from .schedule import ScheduleRoutes

ALL_CHOICE = "*"
TRIGGER = RunTrigger.ADMIN_PAGE
ACCOUNT_FIELDS = (
    ("ar", "ar_account", "Accounts Receivable Account"),
    ("income", "income_account", "Income Account"),
    ("deposit", "deposit_account", "Deposit Account"),
)


def _state() -> QBOSyncState:
    return qbo_state()


class QBOSyncView(ConnectionRoutes, HistoryRoutes, ScheduleRoutes, BaseView):
    def __init__(
        self,
        is_accessible: Callable[[], bool],
        on_inaccessible: Callable[[], Response],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._is_accessible = is_accessible
        self._on_inaccessible = on_inaccessible

    def is_accessible(self) -> bool:
        return self._is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return self._on_inaccessible()

    # helpers ------------------------------------------------------------------------------

    def _profiles(self) -> list[SyncProfile]:
        session = _state().db.session
        return list(
            session.scalars(sa.select(SyncProfile).order_by(SyncProfile.segment_name)).all()
        )

    def _profile(self, profile_id: int) -> SyncProfile:
        profile = _state().db.session.get(SyncProfile, profile_id)
        if profile is None:
            abort(404)
        return profile

    def _back(self, profile: SyncProfile | None = None) -> Response:
        anchor = f"profile-{profile.id}" if profile is not None else None
        return redirect(url_for(".index", _anchor=anchor))

    def _settings(self) -> Settings:
        """The settings, with this host's callback URL when no redirect URI is configured."""
        settings = _state().settings
        if settings.redirect_uri:
            return settings
        return replace(settings, redirect_uri=url_for(".callback", _external=True))

    def _busy(self, profile: SyncProfile) -> bool:
        if active_run(_state().db.session(), profile.company_id) is None:
            return False
        flash(
            f"{profile.segment_name} is synchronizing now; wait until it has finished.", "warning"
        )
        return True

    # the page -----------------------------------------------------------------------------

    @expose("/")
    def index(self) -> str:
        st = _state()
        session = st.db.session()
        try:
            cipher: TokenCipher | None = TokenCipher.from_settings(st.settings)
        except ConfigurationError:  # no usable QBO_SYNC_TOKEN_KEY: no stored token can be read
            cipher = None
        unreadable = mark_unreadable(session, cipher)
        now = utcnow()
        cards = []
        for profile in self._profiles():
            last, finished = last_runs(session, profile.company_id)
            card = ProfileCard(
                profile=profile,
                active=active_run(session, profile.company_id),
                last=last,
                finished=finished,
                details=details_of(finished),
                failures=failures(session, profile, st.source),
                cleaned=cleaned(session, profile, st.source),
            )
            if profile.company is not None:
                card.health = company_health(profile.company, now, st.settings.zone)
            if profile.is_connected and profile.company is not None:
                try:  # kept lists: read from QuickBooks only if they never were
                    card.accounts = account_choices(accounts(profile))
                except QBOSyncError as exc:
                    card.accounts_problem = f"The chart of accounts could not be read: {exc}"
                card.lists = company_lists.kept(session, profile.company)
            cards.append(card)
        taken = {c.profile.segment_key for c in cards}
        segments = [s for s in st.source.segments() if s.key not in taken]
        return self.render(
            "qbo_sync/index.html",
            cards=cards,
            segments=segments,
            all_segments_free=None not in taken,
            all_choice=ALL_CHOICE,
            all_segments=ALL_SEGMENTS,
            active=[progress(c.active) for c in cards if c.active is not None],
            any_connected=any(c.profile.is_connected for c in cards),
            account_fields=ACCOUNT_FIELDS,
            companies=connected_companies(session),
            default_account=default_account,
            when=when,
            lists_summary=lists_summary,
            zone=zone_label(st.settings.zone),
            unreadable=unreadable,
            unreadable_message=UNREADABLE,
        )

    @expose("/status")
    def status(self) -> Response:
        session = _state().db.session()
        companies = sorted({p.company_id for p in self._profiles() if p.company_id is not None})
        runs = [run for c in companies if (run := active_run(session, c)) is not None]
        response = jsonify(status_payload(runs))
        response.headers["Cache-Control"] = "no-store"
        return response

    # profiles and connections ---------------------------------------------------------------

    @expose("/profiles", methods=("POST",))
    def create_profile(self) -> Response:
        session = _state().db.session()
        choice = request.form.get("segment", "")
        if choice == ALL_CHOICE:
            key, name = None, None
        else:
            found = [s for s in _state().source.segments() if s.key == choice]
            if not found:
                flash("Choose a market segment for the new profile.", "error")
                return self._back()
            key, name = found[0].key, found[0].name
        existing = find_profile(session, key)
        if existing is not None:
            flash(f"{existing.segment_name} has a profile already.", "info")
            return self._back(existing)
        profile = get_or_create_profile(session, name)
        flash(
            f"Profile {profile.segment_name} created; press Setup Authentication to connect it.",
            "success",
        )
        return self._back(profile)

    # settings -----------------------------------------------------------------------------

    @expose("/<int:profile_id>/settings", methods=("POST",))
    def save_settings(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        form = request.form
        raw = form.get("sync_after", "").strip()
        try:
            sync_after = date.fromisoformat(raw) if raw else None
        except ValueError:
            flash("Sync Data After must be a date (YYYY-MM-DD).", "error")
            return self._back(profile)
        chosen: dict[str, tuple[str, str]] = {}
        if any(form.get(name) for _, name, _ in ACCOUNT_FIELDS):
            if not profile.is_connected:
                flash("Connect the profile before choosing its accounts.", "error")
                return self._back(profile)
            try:
                choices = account_choices(accounts(profile))
            except QBOSyncError as exc:
                flash(f"The chart of accounts could not be read: {exc}", "error")
                return self._back(profile)
            for key, name, label in ACCOUNT_FIELDS:
                wanted = form.get(name)
                if not wanted:
                    continue
                match = [c for c in choices[key] if c["id"] == wanted]
                if not match:
                    flash(f"{label}: choose one of the company's accounts.", "error")
                    return self._back(profile)
                chosen[key] = (match[0]["id"], match[0]["name"])
        update_settings(_state().db.session(), profile, sync_after=sync_after, **chosen)
        flash(f"Settings of {profile.segment_name} saved.", "success")
        return self._back(profile)

    @expose("/<int:profile_id>/company", methods=("POST",))
    def use_company(self, profile_id: int) -> Response:
        """Share a company that is connected already (no second sign-in at Intuit)."""
        profile = self._profile(profile_id)
        if self._busy(profile):
            return self._back(profile)
        session = _state().db.session()
        company = session.get(Company, request.form.get("company", type=int) or 0)
        if company is None:
            flash("Choose one of the connected companies.", "error")
            return self._back(profile)
        try:
            use_company(session, profile, company)
        except QBOSyncError as exc:
            session.rollback()
            flash(str(exc), "error")
            return self._back(profile)
        flash(f"{profile.segment_name} now synchronizes into {company.label}.", "success")
        return self._back(profile)

    @expose("/<int:profile_id>/lists", methods=("POST",))
    def refresh_lists(self, profile_id: int) -> Response:
        """Read the company's accounts, items and payment methods from QuickBooks again."""
        profile = self._profile(profile_id)
        company = profile.company
        if company is None or not profile.is_connected:
            flash(f"Connect {profile.segment_name} first (Setup Authentication).", "error")
            return self._back(profile)
        try:
            refresh_lists(company)
        except QBOSyncError as exc:
            _state().db.session.rollback()
            flash(f"The lists of {company.label} could not be read: {exc}", "error")
            return self._back(profile)
        flash(
            f"The accounts, items and payment methods of {company.label} were read again.",
            "success",
        )
        return self._back(profile)

    # preview and books check (read only) ---------------------------------------------------

    def _company_of(self, profile: SyncProfile) -> Company:
        if profile.company is None or not profile.is_connected:
            abort(404)
        return profile.company

    @expose("/<int:profile_id>/preview")
    def preview_plan(self, profile_id: int) -> Response | str:
        profile = self._profile(profile_id)
        company = self._company_of(profile)
        st = _state()
        try:
            result = preview(*st.engine_args(company))
        except QBOSyncError as exc:
            flash(f"The preview could not be made: {exc}", "error")
            return self._back(profile)
        record_preview(st.db.session(), company, result)
        return self.render("qbo_sync/preview.html", profile=profile, company=company, result=result)

    @expose("/<int:profile_id>/books")
    def books(self, profile_id: int) -> Response | str:
        profile = self._profile(profile_id)
        company = self._company_of(profile)
        st = _state()
        try:
            report = books_check(*st.engine_args(company))
        except QBOSyncError as exc:
            flash(f"The books check could not be made: {exc}", "error")
            return self._back(profile)
        return self.render(
            "qbo_sync/books.html",
            profile=profile,
            report=report,
            record_url=lambda cid: st.source.record_url(RecordKind.CUSTOMER, cid),
            qbo_url=lambda qid: document_url(st.settings, company.realm_id, DocKind.CUSTOMER, qid),
        )

    # runs ---------------------------------------------------------------------------------

    def _started(self, profile: SyncProfile, run: SyncRun, new: bool, what: str) -> None:
        if new:
            flash(f"{what} of {profile.segment_name} started.", "success")
        else:
            flash(f"{profile.segment_name} is synchronizing already.", "info")

    @expose("/<int:profile_id>/sync", methods=("POST",))
    def sync(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        if not profile.is_connected:
            flash(f"Connect {profile.segment_name} first (Setup Authentication).", "error")
            return self._back(profile)
        run, new = start_sync(profile, trigger=TRIGGER, started_by=_state().user_name())
        self._started(profile, run, new, "Synchronization")
        return self._back(profile)

    @expose("/sync-all", methods=("POST",))
    def sync_all(self) -> Response:
        started = start_sync_all(trigger=TRIGGER, started_by=_state().user_name())
        if not started:
            flash("No profile is connected.", "error")
        else:
            fresh = sum(1 for _, new in started if new)
            flash(
                f"Synchronizing {len(started)} connected profile(s) one after another"
                + (f" ({len(started) - fresh} already running)." if fresh < len(started) else "."),
                "success",
            )
        return self._back()

    @expose("/<int:profile_id>/retry", methods=("POST",))
    def retry(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        if not profile.is_connected:
            flash(f"Connect {profile.segment_name} first (Setup Authentication).", "error")
            return self._back(profile)
        sale_ids: list[str] | None = None
        if request.form.get("scope") != "all":
            ids = [int(v) for v in request.form.getlist("record") if v.isdigit()]
            records: Iterable[SyncDocument] = _state().db.session.scalars(
                sa.select(SyncDocument).where(
                    SyncDocument.id.in_(ids), SyncDocument.company_id == profile.company_id
                )
            )
            records = list(records)
            if not records:
                flash("Select the records to retry.", "error")
                return self._back(profile)
            sale_ids = self._sales_of(records)
        run, new = start_sync(
            profile, sale_ids=sale_ids, trigger=RunTrigger.RETRY, started_by=_state().user_name()
        )
        self._started(profile, run, new, "Retry")
        return self._back(profile)

    def _sales_of(self, records: Iterable[SyncDocument]) -> list[str] | None:
        """The sales to run for these documents; None (a full run) when one has no sale."""
        sales: set[str] = set()
        customers: list[str] = []
        for rec in records:
            if rec.sale_id:
                sales.add(rec.sale_id)
            elif rec.kind is DocKind.CUSTOMER:
                customers.append(rec.local_id)
            else:
                return None
        if customers:
            sales.update(_state().source.sales_of(RecordKind.CUSTOMER, customers))
        return sorted(sales, key=lambda s: (len(s), s)) or None
