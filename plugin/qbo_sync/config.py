"""Every QBO_SYNC_* setting, with its default and meaning, read once into frozen Settings."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from .errors import ConfigurationError
from .localtime import office_zone

ENVIRONMENTS = ("production", "sandbox", "emulator")


@dataclass(frozen=True)
class Settings:
    # production, sandbox (Intuit's hosts) or emulator (qbo_emulator at emulator_url).
    environment: str = "production"
    # Base URL of a running qbo_emulator; discovery, OAuth and the API are all under it.
    # Read only with environment "emulator"; production and sandbox ignore it.
    emulator_url: str = "http://127.0.0.1:8765"
    # The host declares a demo or test run: the emulator may be used without debug or testing
    # (it must still listen on loopback).
    allow_emulator: bool = False
    client_id: str = ""
    client_secret: str = ""
    # The OAuth redirect URI registered with Intuit; default: /admin/qbo/callback on this host.
    redirect_uri: str = ""
    # Comma-separated Fernet keys; the first encrypts, all decrypt (for key rotation).
    token_key: str = ""
    # Seconds a "Setup Authentication" attempt (its OAuth state) stays valid.
    oauth_state_seconds: int = 600
    # RQ queue the plugin's jobs go to.
    queue: str = "qbo_sync"
    # Seconds before any HTTP call to Intuit is abandoned (connect and read).
    http_timeout: float = 30.0
    minor_version: int = 75
    # QuickBooks' per-company limits, kept by every worker together through Redis.
    rate_per_minute: int = 500
    rate_per_second: int = 10
    batch_per_minute: int = 40
    max_in_flight: int = 4
    # Emulator only (a benchmark): the emulator's clock runs this many times faster
    # (`--time-scale`), so the budget's windows, the pause after a 429 and the backoff between
    # retries shrink by the same factor. Production and sandbox refuse anything but 1.
    time_scale: float = 1.0
    # Items per batch request (QuickBooks allows at most 30).
    batch_size: int = 30
    # Retries of retryable failures (5xx, timeouts, dropped connections) per call.
    max_retries: int = 5
    # Seconds a company's work pauses after a 429 when QuickBooks does not say (Intuit: 60).
    throttle_pause: float = 60.0
    # Seconds a run's lock outlives its last sign of life; a run silent longer is taken as dead.
    # Longer than any pause or retry, so a live run never loses it.
    run_lock_seconds: int = 300
    # Seconds between a worker's checks for runs whose worker died (they are resumed).
    resume_interval: int = 30
    # The office's time zone for every time shown (page, CLI, phase lines), an IANA name such
    # as America/New_York; empty: the host's own zone. Stored times are always UTC.
    time_zone: str = ""
    # Days the history (the record timeline's events, the runs) is kept; 0: for ever. What a
    # record's timeline and the card still need is kept however old (retention.py).
    history_days: int = 730

    @property
    def zone(self) -> ZoneInfo:
        return office_zone(self.time_zone)

    @property
    def discovery_url(self) -> str:
        if self.environment == "emulator":
            return self.emulator_url.rstrip("/") + "/.well-known/openid_configuration"
        return self.environment

    @property
    def api_base(self) -> str:
        if self.environment == "emulator":
            return self.emulator_url.rstrip("/") + "/v3"
        if self.environment == "sandbox":
            return "https://sandbox-quickbooks.api.intuit.com/v3"
        return "https://quickbooks.api.intuit.com/v3"


def _coerce(name: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"QBO_SYNC_{name.upper()} must be a number, got {raw!r}") from exc
    return str(raw)


def load_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the app config, falling back to the environment, then to the defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = f"QBO_SYNC_{f.name.upper()}"
        raw = config.get(key, environ.get(key))
        if raw is not None and raw != "":
            values[f.name] = _coerce(f.name, raw, f.default)
    settings = Settings(**values)
    if settings.environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"QBO_SYNC_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, "
            f"got {settings.environment!r}"
        )
    if not 1 <= settings.batch_size <= 30:
        raise ConfigurationError("QBO_SYNC_BATCH_SIZE must be between 1 and 30")
    if settings.time_scale <= 0:
        raise ConfigurationError("QBO_SYNC_TIME_SCALE must be positive")
    if settings.time_scale != 1.0 and settings.environment != "emulator":
        raise ConfigurationError(
            "QBO_SYNC_TIME_SCALE speeds up the emulator's clock only: leave it at 1 with "
            f"QBO_SYNC_ENVIRONMENT={settings.environment}"
        )
    settings.zone  # noqa: B018  # an unknown zone name is refused here, not on a page
    if settings.history_days < 0:
        raise ConfigurationError("QBO_SYNC_HISTORY_DAYS must be 0 (keep for ever) or more")
    if settings.oauth_state_seconds < 1:
        raise ConfigurationError("QBO_SYNC_OAUTH_STATE_SECONDS must be at least 1")
    return settings


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine: 127.0.0.0/8, ::1 or localhost."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_environment(settings: Settings, *, debug_or_testing: bool) -> None:
    """Refuse the emulator outside a debug, test or demo run, or away from loopback.

    Whoever answers at the emulator URL receives the app's client secret and every token and
    record: a production app must not be pointed at one, nor anyone at a host elsewhere.
    """
    if settings.environment != "emulator":
        return
    if not is_loopback(settings.emulator_url):
        raise ConfigurationError(
            f"QBO_SYNC_ENVIRONMENT=emulator needs an emulator on this machine, but "
            f"QBO_SYNC_EMULATOR_URL is {settings.emulator_url!r}: use http://127.0.0.1:PORT "
            "(or localhost, ::1), or set QBO_SYNC_ENVIRONMENT to production or sandbox"
        )
    if not (debug_or_testing or settings.allow_emulator):
        raise ConfigurationError(
            "QBO_SYNC_ENVIRONMENT=emulator is only for development, tests and the demo: set "
            "QBO_SYNC_ENVIRONMENT to production or sandbox (with your Intuit app's keys), or "
            "run in debug mode, or set QBO_SYNC_ALLOW_EMULATOR=1 for a demo on this machine"
        )
