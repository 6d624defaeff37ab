"""A company's connection at a glance: the warnings the page and `flask qbo status` show before
the connection stops working, each saying what to do. Pure: from the company's row and a time.

- Reconnect needed: QuickBooks refused the grant (revoked, expired, unreadable tokens).
- Hard expiry: Intuit ends every grant 5 years after consent, whatever its use; warned
  HARD_WARN_DAYS before.
- Rolling expiry: a refresh token lapses about 100 days after it was last used (every sync uses
  it); warned ROLLING_WARN_DAYS before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from .localtime import day
from .models import Company

HARD_WARN_DAYS = 30
ROLLING_WARN_DAYS = 14


class Level(StrEnum):
    DANGER = "danger"  # syncing stops (or has stopped) until someone acts
    WARNING = "warning"  # it will stop on a known day unless someone acts


@dataclass(frozen=True)
class HealthWarning:
    level: Level
    message: str
    # The cure is signing in again (Setup Authentication).
    reconnect: bool = True


def company_health(company: Company, now: datetime, zone: tzinfo) -> list[HealthWarning]:
    """What is wrong, or will be, with the company's connection; [] when all is well."""
    name = company.label
    if company.reconnect_needed:
        return [
            HealthWarning(
                Level.DANGER,
                f"QuickBooks no longer accepts the connection to {name}: nothing is synchronized "
                "until someone presses Setup Authentication and signs in again.",
            )
        ]
    if not company.is_connected:
        return []
    out: list[HealthWarning] = []
    hard = company.refresh_token_hard_expires_at
    if hard is not None and hard <= now + timedelta(days=HARD_WARN_DAYS):
        if hard <= now:
            out.append(
                HealthWarning(
                    Level.DANGER,
                    f"The connection to {name} ended on {day(hard, zone)} (Intuit ends every "
                    "connection 5 years after it was made): press Setup Authentication and sign "
                    "in again.",
                )
            )
        else:
            out.append(
                HealthWarning(
                    Level.WARNING,
                    f"The connection to {name} ends for good on {day(hard, zone)} (Intuit ends "
                    "every connection 5 years after it was made): press Setup Authentication "
                    "and sign in again before then to keep synchronizing.",
                )
            )
    rolling = company.refresh_token_expires_at
    if rolling is not None and rolling <= now + timedelta(days=ROLLING_WARN_DAYS):
        if hard is not None and hard <= rolling:
            return out  # the hard end comes first and says it all
        if rolling <= now:
            out.append(
                HealthWarning(
                    Level.DANGER,
                    f"The connection to {name} lapsed on {day(rolling, zone)} after about 100 "
                    "days without a synchronization: press Setup Authentication and sign in "
                    "again.",
                )
            )
        else:
            out.append(
                HealthWarning(
                    Level.WARNING,
                    f"The connection to {name} lapses on {day(rolling, zone)} unless it is used "
                    "before then: synchronize (any run renews it) or press Setup Authentication.",
                )
            )
    return out
