"""The schedule routes of the admin page: the "Schedule" form of a profile card (Off, Every N
minutes, Daily at HH:MM), saved for the profile's company, and what the card says about it.

A mixin of QBOSyncView, which provides `_profile` and `_back`; its `render` gives templates
`schedule_of(profile)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flask import flash, request
from flask_admin import expose
from werkzeug.wrappers import Response

from ..models import Company, FiringOutcome, ScheduleKind, SyncProfile
from ..schedule import ScheduleInvalid, configure, parse_schedule, summary
from ..state import qbo_state
from .panels import when

FIRED = {
    FiringOutcome.STARTED: "started a run",
    FiringOutcome.SKIPPED: "skipped, a run of the company was still going",
    FiringOutcome.WAITING: "waited for the company to be reconnected",
}


@dataclass(frozen=True)
class ScheduleCard:
    """What a profile card shows of its company's schedule."""

    company: Company
    kind: ScheduleKind
    minutes: int | None
    daily_at: str | None
    summary: str
    next_run: str  # "5/20/2015 1:06 PM" in the office's zone; "" when off
    shared_with: list[str]  # the other profiles of the company
    waiting: bool  # scheduled, but the company must be reconnected first
    last_firing: str  # "" before the first

    @property
    def on(self) -> bool:
        return self.kind is not ScheduleKind.OFF


def schedule_of(profile: SyncProfile) -> ScheduleCard | None:
    """The card's view of the schedule of the profile's company; None with no company."""
    company = profile.company
    if company is None:
        return None
    last = ""
    if company.schedule_fired_at is not None and company.schedule_outcome is not None:
        last = (
            f"The last scheduled run, {when(company.schedule_fired_at)}, "
            f"{FIRED[company.schedule_outcome]}."
        )
    on = company.schedule_kind is not ScheduleKind.OFF
    return ScheduleCard(
        company=company,
        kind=company.schedule_kind,
        minutes=company.schedule_minutes,
        daily_at=company.schedule_daily_at,
        summary=summary(company),
        next_run=when(company.schedule_next_at) if on else "",
        shared_with=[p.segment_name for p in company.profiles if p.id != profile.id],
        waiting=on and not company.is_connected,
        last_firing=last,
    )


class ScheduleRoutes:
    if TYPE_CHECKING:  # provided by QBOSyncView

        def _profile(self, profile_id: int) -> SyncProfile: ...
        def _back(self, profile: SyncProfile | None = None) -> Response: ...

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("schedule_of", schedule_of)
        return cast(str, cast(Any, super()).render(template, **kwargs))

    @expose("/<int:profile_id>/schedule", methods=("POST",))
    def save_schedule(self, profile_id: int) -> Response:
        profile = self._profile(profile_id)
        company = profile.company
        if company is None:
            flash(
                f"Connect {profile.segment_name} first (Setup Authentication): the schedule "
                "belongs to its QuickBooks company.",
                "error",
            )
            return self._back(profile)
        form = request.form
        try:
            wanted = parse_schedule(form.get("kind"), form.get("minutes"), form.get("daily_at"))
        except ScheduleInvalid as exc:
            flash(f"Schedule of {company.label} not saved: {exc}", "error")
            return self._back(profile)
        next_at = configure(qbo_state().db.session(), company, wanted)
        if next_at is None:
            flash(f"Scheduled runs of {company.label} are off.", "success")
        else:
            flash(
                f"Schedule of {company.label} saved: {summary(company)}. "
                f"Next scheduled run: {when(next_at)}.",
                "success",
            )
        return self._back(profile)
