"""Times as the office reads them, and the connection warnings, from their inputs alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qbo_sync.config import load_settings
from qbo_sync.errors import ConfigurationError
from qbo_sync.health import HARD_WARN_DAYS, ROLLING_WARN_DAYS, Level, company_health
from qbo_sync.localtime import stamp, when, zone_label
from qbo_sync.models import Company

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_guides_formats_in_the_offices_zone_on_both_sides_of_a_dst_change() -> None:
    summer = datetime(2015, 5, 20, 17, 6, 51, tzinfo=UTC)  # EDT, UTC-4: the guide's example
    assert when(summer, NEW_YORK) == "5/20/2015 1:06 PM"
    assert stamp(summer, NEW_YORK) == "2015-05-20 13:06:51"
    winter = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)  # EST, UTC-5
    assert when(winter, NEW_YORK) == "12/1/2026 12:30 AM"
    assert when(datetime(2026, 12, 1, 17, 0, tzinfo=UTC), NEW_YORK) == "12/1/2026 12:00 PM"
    assert when(None, NEW_YORK) == "" and stamp(None, NEW_YORK) == ""
    assert zone_label(NEW_YORK, winter) == "America/New_York (EST)"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_when_shows_the_same_instant_as_the_standard_library_does(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    local = moment.astimezone(NEW_YORK)
    assert when(moment, NEW_YORK) == local.strftime("%-m/%-d/%Y %-I:%M %p")
    assert stamp(moment, NEW_YORK) == local.strftime("%Y-%m-%d %H:%M:%S")


def test_the_zone_is_a_setting_refused_when_unknown() -> None:
    assert load_settings({"QBO_SYNC_TIME_ZONE": "Europe/Paris"}, {}).zone.key == "Europe/Paris"
    assert load_settings({}, {}).zone.key  # the host's own zone when none is set
    with pytest.raises(ConfigurationError, match="QBO_SYNC_TIME_ZONE"):
        load_settings({"QBO_SYNC_TIME_ZONE": "Mars/Olympus_Mons"}, {})


def _company(**kw: object) -> Company:
    values: dict[str, object] = {
        "realm_id": "9130",
        "company_name": "Acme Roofing",
        "refresh_token_enc": "x",
        "reconnect_needed": False,
        "refresh_token_expires_at": NOW + timedelta(days=90),
        "refresh_token_hard_expires_at": NOW + timedelta(days=4 * 365),
    }
    values.update(kw)
    return Company(**values)


def test_a_healthy_connection_warns_of_nothing() -> None:
    assert company_health(_company(), NOW, NEW_YORK) == []
    assert company_health(_company(refresh_token_enc=None), NOW, NEW_YORK) == []


def test_each_coming_end_is_warned_of_in_time_and_an_ended_one_is_danger() -> None:
    soon = _company(refresh_token_hard_expires_at=NOW + timedelta(days=HARD_WARN_DAYS - 1))
    (w,) = company_health(soon, NOW, NEW_YORK)
    assert w.level is Level.WARNING and "ends for good on 12/30/2026" in w.message
    ended = _company(refresh_token_hard_expires_at=NOW - timedelta(days=1))
    (w,) = company_health(ended, NOW, NEW_YORK)
    assert w.level is Level.DANGER and "ended on 11/30/2026" in w.message
    lapsing = _company(refresh_token_expires_at=NOW + timedelta(days=ROLLING_WARN_DAYS - 1))
    (w,) = company_health(lapsing, NOW, NEW_YORK)
    assert w.level is Level.WARNING and "lapses on 12/14/2026 unless it is used" in w.message
    far = _company(refresh_token_expires_at=NOW + timedelta(days=ROLLING_WARN_DAYS + 1))
    assert company_health(far, NOW, NEW_YORK) == []
    refused = _company(reconnect_needed=True)
    (w,) = company_health(refused, NOW, NEW_YORK)
    assert w.level is Level.DANGER and w.reconnect and "no longer accepts" in w.message
