"""The emulator's clock: wall time running `time_scale` times faster, plus QBO's time formats."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        COMPANY_TZ: tzinfo = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        COMPANY_TZ = timezone(timedelta(hours=-8))
except ImportError:  # pragma: no cover - zoneinfo is stdlib on 3.9+
    COMPANY_TZ = timezone(timedelta(hours=-8))


class Clock:
    """Emulator time in epoch seconds; starts at real time and runs `scale` times faster."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._real0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._real0 + (time.monotonic() - self._mono0) * self.scale

    def real_seconds(self, emulated_seconds: float) -> float:
        """How long `emulated_seconds` of emulator time take in real time."""
        return emulated_seconds / self.scale

    def sleep(self, emulated_seconds: float) -> None:
        if emulated_seconds > 0:
            threading.Event().wait(self.real_seconds(emulated_seconds))

    def company_now(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC).astimezone(COMPANY_TZ)

    def stamp(self) -> str:
        """`time` field of response envelopes: ISO-8601 with milliseconds and offset."""
        moment = self.company_now()
        return moment.isoformat(timespec="milliseconds")

    def meta_stamp(self) -> str:
        """MetaData timestamps: ISO-8601 seconds with offset."""
        return self.company_now().isoformat(timespec="seconds")

    def today(self) -> str:
        return self.company_now().date().isoformat()


def parse_stamp(value: str) -> float | None:
    """Parse an ISO date or datetime (offset optional, company zone assumed) to epoch seconds."""
    text = value.strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_TZ)
    return moment.timestamp()
