"""The connection routes of the admin page: Setup Authentication, Intuit's callback, the
different-company confirmation, and Clear Connection.

A mixin of QBOSyncView, which provides `_profile`, `_back`, `_settings` and `_busy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from werkzeug.wrappers import Response

from ..config import Settings
from ..connection import TokenCipher, authorization_url
from ..errors import QBOSyncError
from ..models import SyncProfile
from ..oauth_state import (
    StateProblem,
    StateUsed,
    consume_state,
    hold_connection,
    issue_state,
    peek_connection,
    take_connection,
)
from ..profiles import Revocation, clear_connection, complete_connection, refresh_lists
from ..state import QBOSyncState, qbo_state


def _state() -> QBOSyncState:
    return qbo_state()


class ConnectionRoutes:
    if TYPE_CHECKING:  # provided by QBOSyncView and flask_admin's BaseView

        def _profile(self, profile_id: int) -> SyncProfile: ...
        def _back(self, profile: SyncProfile | None = None) -> Response: ...
        def _settings(self) -> Settings: ...
        def _busy(self, profile: SyncProfile) -> bool: ...
        def render(self, template: str, **kwargs: Any) -> str: ...

    @expose("/<int:profile_id>/authorize", methods=("POST",))
    def authorize(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        if self._busy(profile):
            return self._back(profile)
        state = issue_state(profile.id, _state().redis, self._settings().oauth_state_seconds)
        try:
            url = authorization_url(self._settings(), state)
        except QBOSyncError as exc:
            flash(f"QuickBooks' sign-in page cannot be reached: {exc}", "error")
            return self._back(profile)
        return redirect(url)

    @expose("/callback")
    def callback(self) -> Response:
        st = _state()
        args = request.args
        try:
            profile_id = consume_state(args.get("state", ""), st.redis)
        except StateUsed as exc:  # a replay, or the same answer twice (a double click)
            flash(f"{exc} Nothing more was done.", "info")
            return self._back()
        except StateProblem as exc:
            flash(f"{exc} Nothing was stored; press Setup Authentication to try again.", "error")
            return self._back()
        profile = st.db.session.get(SyncProfile, profile_id)
        if profile is None:
            flash("The profile of this connection attempt no longer exists.", "error")
            return self._back()
        error = args.get("error")
        if error == "access_denied":
            flash(
                "The connection was cancelled on QuickBooks' page. Nothing was stored.", "warning"
            )
            return self._back(profile)
        code, realm_id = args.get("code", ""), args.get("realmId", "")
        if error or not code or not realm_id:
            flash(
                f"QuickBooks did not connect the company ({error or 'no authorization code'}). "
                "Nothing was stored.",
                "error",
            )
            return self._back(profile)
        if profile.realm_id and profile.realm_id != realm_id:
            hold_connection(
                profile.id, realm_id, code, st.redis, TokenCipher.from_settings(st.settings)
            )
            return redirect(url_for(".confirm_company"))
        return self._connect(profile, code, realm_id, allow_other_company=False)

    @expose("/confirm-company", methods=("GET", "POST"))
    def confirm_company(self) -> Response | str:
        st = _state()
        cipher = TokenCipher.from_settings(st.settings)
        if request.method == "GET":
            pending = peek_connection(st.redis, cipher)
            profile = st.db.session.get(SyncProfile, pending.profile_id) if pending else None
            if pending is None or profile is None:
                flash(
                    "No connection is waiting for your confirmation (it expires after 10 minutes).",
                    "info",
                )
                return self._back()
            return self.render(
                "qbo_sync/confirm_company.html",
                profile=profile,
                realm_id=pending.realm_id,
                pending=pending.token,
            )
        pending = take_connection(request.form.get("pending", ""), st.redis, cipher)
        profile = st.db.session.get(SyncProfile, pending.profile_id) if pending else None
        if pending is None or profile is None:
            flash(
                "This confirmation is no longer valid (used or expired). Nothing was stored.",
                "error",
            )
            return self._back()
        if request.form.get("action") != "connect":
            flash(
                f"{profile.segment_name} stays with {profile.company_name or profile.realm_id}. "
                "Nothing was stored.",
                "info",
            )
            return self._back(profile)
        return self._connect(profile, pending.code, pending.realm_id, allow_other_company=True)

    def _connect(
        self, profile: SyncProfile, code: str, realm_id: str, *, allow_other_company: bool
    ) -> Response:
        st = _state()
        session = st.db.session()
        try:
            complete_connection(
                session,
                profile,
                code,
                realm_id,
                allow_other_company=allow_other_company,
                settings=self._settings(),
            )
        except QBOSyncError as exc:
            session.rollback()
            flash(f"The connection could not be completed: {exc}", "error")
            return self._back(profile)
        flash(
            f"{profile.segment_name} is connected to {profile.company_name or 'the company'} "
            f"(realm {profile.realm_id}).",
            "success",
        )
        if profile.company is not None:
            try:  # kept for the page, which then reads nothing from QuickBooks
                refresh_lists(profile.company)
            except QBOSyncError as exc:
                session.rollback()
                flash(
                    f"The company's accounts, items and payment methods could not be read yet "
                    f"({exc}); press Refresh lists to try again.",
                    "warning",
                )
        return self._back(profile)

    @expose("/<int:profile_id>/clear", methods=("POST",))
    def clear(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        if self._busy(profile):
            return self._back(profile)
        company = profile.company_name or "QuickBooks"
        outcome = clear_connection(_state().db.session(), profile)
        kept = (
            "what was pushed stays recorded with the company, so connecting it again pushes no "
            "duplicates."
        )
        if outcome is Revocation.FAILED:
            flash(
                f"{profile.segment_name} is disconnected here and its QuickBooks tokens are "
                f"forgotten, but QuickBooks could not be told: {company} may still list this app "
                "as connected. To end that access, disconnect the app in QuickBooks (Settings, "
                "Apps, this app, Disconnect), or press Setup Authentication and then Clear "
                f"Connection again once QuickBooks can be reached. {kept.capitalize()}",
                "warning",
            )
        else:
            flash(f"{profile.segment_name} is disconnected from {company}; {kept}", "success")
        return self._back(profile)
