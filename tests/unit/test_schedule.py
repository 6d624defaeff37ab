"""When a schedule fires next (qbo_sync.schedule.next_firing, pure) and what the office may ask
for: properties over instants and zones, with the spring gap and the autumn overlap of real
zones, and the plain-language refusals of a schedule that cannot be kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qbo_sync.models import ScheduleKind
from qbo_sync.schedule import Schedule, ScheduleInvalid, next_firing, parse_schedule

NEW_YORK = ZoneInfo("America/New_York")
ZONES = [
    NEW_YORK,
    ZoneInfo("Europe/London"),
    ZoneInfo("Australia/Lord_Howe"),  # half-hour DST shift
    ZoneInfo("America/St_Johns"),  # a UTC-3:30 zone with DST
    ZoneInfo("Asia/Kolkata"),  # no DST
    ZoneInfo("UTC"),
]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
times = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


def _wall(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%H:%M}"


def _exists(day: datetime, hhmm: str, zone: ZoneInfo) -> bool:
    naive = datetime.combine(day.date(), datetime.strptime(hhmm, "%H:%M").time())
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


@given(now=instants, minutes=st.integers(1, 1440))
def test_every_n_minutes_fires_n_minutes_from_now(now: datetime, minutes: int) -> None:
    firing = next_firing(ScheduleKind.EVERY, minutes, None, NEW_YORK, now)
    assert firing == now + timedelta(minutes=minutes)
    assert firing.tzinfo is not None and firing.utcoffset() == timedelta(0)


def _check_daily(now: datetime, at: str, zone: ZoneInfo) -> None:
    firing = next_firing(ScheduleKind.DAILY, None, at, zone, now)
    assert firing is not None
    assert firing > now  # always in the future
    assert firing - now <= timedelta(hours=27)  # the next one, not a later one
    local = firing.astimezone(zone)
    if _exists(local, at, zone):
        assert _wall(firing, zone) == at  # the same wall time, summer or winter
    else:  # skipped by the clocks (spring): the first minute that exists after it
        before = (firing - timedelta(minutes=1)).astimezone(zone)
        assert before.date() == local.date()
        assert _wall(before, zone) < at < _wall(firing, zone)  # the clocks jumped over it


@given(now=instants, at=times, zone=st.sampled_from(ZONES))
def test_daily_fires_in_the_future_at_the_local_wall_time(
    now: datetime, at: str, zone: ZoneInfo
) -> None:
    _check_daily(now, at, zone)


# The days the clocks change in New York (2 AM) and on Lord Howe Island (2 AM, half an hour).
CHANGE_DAYS = [
    (NEW_YORK, datetime(2026, 3, 8, 5, tzinfo=UTC)),  # spring forward: 2:00-2:59 skipped
    (NEW_YORK, datetime(2026, 11, 1, 4, tzinfo=UTC)),  # fall back: 1:00-1:59 twice
    (ZoneInfo("Australia/Lord_Howe"), datetime(2026, 10, 3, 15, tzinfo=UTC)),  # 2:00-2:29 skipped
    (ZoneInfo("Australia/Lord_Howe"), datetime(2026, 4, 4, 14, tzinfo=UTC)),  # 1:30-1:59 twice
]
near_midnight = st.integers(-6 * 60, 30 * 60).map(lambda m: timedelta(minutes=m))
around_change = st.tuples(st.integers(1, 3), st.integers(0, 59)).map(
    lambda t: f"{t[0]:02d}:{t[1]:02d}"
)


@given(change=st.sampled_from(CHANGE_DAYS), offset=near_midnight, at=around_change)
def test_daily_across_the_days_the_clocks_change(
    change: tuple[ZoneInfo, datetime], offset: timedelta, at: str
) -> None:
    zone, midnight = change
    _check_daily(midnight + offset, at, zone)


@given(now=instants, at=times, zone=st.sampled_from(ZONES))
def test_no_firing_of_the_day_is_missed_or_doubled(now: datetime, at: str, zone: ZoneInfo) -> None:
    """Fired again right after each firing, a daily schedule fires once per local day."""
    first = next_firing(ScheduleKind.DAILY, None, at, zone, now)
    assert first is not None
    second = next_firing(ScheduleKind.DAILY, None, at, zone, first)
    assert second is not None
    assert second.astimezone(zone).date() == first.astimezone(zone).date() + timedelta(days=1)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # the evening before spring forward (EST), then the evening after it (EDT): 18:30 both
        (datetime(2026, 3, 7, 20, 0, tzinfo=UTC), datetime(2026, 3, 7, 23, 30, tzinfo=UTC)),
        (datetime(2026, 3, 8, 1, 0, tzinfo=UTC), datetime(2026, 3, 8, 22, 30, tzinfo=UTC)),
        # fall back: 18:30 EDT, then 18:30 EST
        (datetime(2026, 10, 31, 12, 0, tzinfo=UTC), datetime(2026, 10, 31, 22, 30, tzinfo=UTC)),
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), datetime(2026, 11, 1, 23, 30, tzinfo=UTC)),
    ],
)
def test_daily_at_the_same_local_time_across_dst_changes(now: datetime, expected: datetime) -> None:
    firing = next_firing(ScheduleKind.DAILY, None, "18:30", NEW_YORK, now)
    assert firing == expected
    assert _wall(firing, NEW_YORK) == "18:30"


def test_a_time_the_spring_clocks_skip_fires_when_they_jump() -> None:
    """2:30 does not exist in New York on March 8, 2026 (2:00 EST becomes 3:00 EDT): that day's
    run is at 3:00 EDT, the next day's at 2:30 EDT again."""
    now = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 0:00 EST
    firing = next_firing(ScheduleKind.DAILY, None, "02:30", NEW_YORK, now)
    assert firing == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert f"{firing.astimezone(NEW_YORK):%H:%M %Z}" == "03:00 EDT"
    after = next_firing(ScheduleKind.DAILY, None, "02:30", NEW_YORK, firing)
    assert f"{after.astimezone(NEW_YORK):%Y-%m-%d %H:%M %Z}" == "2026-03-09 02:30 EDT"  # type: ignore[union-attr]


def test_a_time_the_autumn_clocks_repeat_fires_once() -> None:
    """1:30 happens twice in New York on November 1, 2026: the run is at the first (EDT)."""
    now = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 0:00 EDT
    firing = next_firing(ScheduleKind.DAILY, None, "01:30", NEW_YORK, now)
    assert f"{firing.astimezone(NEW_YORK):%H:%M %Z}" == "01:30 EDT"  # type: ignore[union-attr]
    again = next_firing(ScheduleKind.DAILY, None, "01:30", NEW_YORK, firing)  # type: ignore[arg-type]
    assert f"{again.astimezone(NEW_YORK):%Y-%m-%d %H:%M %Z}" == "2026-11-02 01:30 EST"  # type: ignore[union-attr]


def test_off_never_fires() -> None:
    assert next_firing(ScheduleKind.OFF, None, None, NEW_YORK, datetime.now(UTC)) is None


def test_what_the_office_may_ask_for() -> None:
    assert parse_schedule("off", "", "") == Schedule(ScheduleKind.OFF)
    assert parse_schedule("every", " 15 ", None) == Schedule(ScheduleKind.EVERY, minutes=15)
    assert parse_schedule("every", 1, None) == Schedule(ScheduleKind.EVERY, minutes=1)
    assert parse_schedule("daily", None, "6:05") == Schedule(ScheduleKind.DAILY, daily_at="06:05")


@pytest.mark.parametrize(
    ("kind", "minutes", "daily_at", "message"),
    [
        (None, None, None, "Choose Off, Every N minutes or Daily at."),
        ("hourly", None, None, "Choose Off, Every N minutes or Daily at."),
        ("every", "", None, "whole number of minutes from 1 to 1440"),
        ("every", "0", None, "whole number of minutes from 1 to 1440"),
        ("every", "1441", None, "for longer, choose Daily at"),
        ("every", "2.5", None, "whole number of minutes"),
        ("every", "-5", None, "whole number of minutes"),
        ("daily", None, "", "HH:MM on the 24-hour clock, such as 18:30"),
        ("daily", None, "24:00", "HH:MM on the 24-hour clock"),
        ("daily", None, "6 PM", "HH:MM on the 24-hour clock"),
    ],
)
def test_a_schedule_that_cannot_be_kept_is_refused_in_plain_words(
    kind: str | None, minutes: str | None, daily_at: str | None, message: str
) -> None:
    with pytest.raises(ScheduleInvalid, match=message):
        parse_schedule(kind, minutes, daily_at)
