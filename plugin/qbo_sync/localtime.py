"""Times as the office reads them: in its time zone (QBO_SYNC_TIME_ZONE, by default the host's)
and in the guide's formats. Stored times stay UTC; only what is shown is converted.

- `when`: "5/20/2015 1:06 PM", for the page's dates and times ("Last Synchronized").
- `stamp`: "2015-05-20 13:06:51", for the phase lines of "Synchronization Detail".
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from .errors import ConfigurationError


@lru_cache(maxsize=16)
def office_zone(name: str = "") -> ZoneInfo:
    """The named IANA zone ("America/New_York"); empty: the host's own zone."""
    key = name.strip() or tzlocal.get_localzone_name() or "UTC"
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"QBO_SYNC_TIME_ZONE must be a time zone name such as America/New_York, got {key!r}"
        ) from exc


def _local(value: datetime, zone: tzinfo) -> datetime:
    if value.tzinfo is None:  # stored times are UTC; a naive one is read as such
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def when(value: datetime | None, zone: tzinfo) -> str:
    """ "5/20/2015 1:06 PM" in the office's zone; "" for no time."""
    if value is None:
        return ""
    t = _local(value, zone)
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def day(value: datetime | None, zone: tzinfo) -> str:
    """ "5/20/2015" in the office's zone."""
    if value is None:
        return ""
    t = _local(value, zone)
    return f"{t.month}/{t.day}/{t.year}"


def stamp(value: datetime | None, zone: tzinfo) -> str:
    """ "2015-05-20 13:06:51" in the office's zone (the phase lines' format)."""
    return f"{_local(value, zone):%Y-%m-%d %H:%M:%S}" if value is not None else ""


def zone_label(zone: tzinfo, at: datetime | None = None) -> str:
    """The zone's name and its abbreviation now: "America/New_York (EST)"."""
    key = getattr(zone, "key", None) or str(zone)
    abbr = _local(at or datetime.now(UTC), zone).tzname()
    return f"{key} ({abbr})" if abbr and abbr != key else key
