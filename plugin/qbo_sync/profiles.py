"""Connection profiles: one per market segment (or all); connecting, settings, clearing.

Shared by the CLI and the admin page, so both follow the same rules.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .config import Settings
from .connection import TokenCipher, apply_token_set, exchange_code, revoke
from .errors import ConnectionProblem, QBOSyncError
from .extension import QBOSyncState
from .models import SyncProfile, utcnow

ALL_SEGMENTS = "All segments"
log = logging.getLogger(__name__)


def qbo_state() -> QBOSyncState:
    return current_app.extensions["qbo_sync"]  # type: ignore[no-any-return]


def find_profile(session: Session, segment_key: str | None) -> SyncProfile | None:
    query = sa.select(SyncProfile)
    query = query.where(
        SyncProfile.segment_key.is_(None)
        if segment_key is None
        else SyncProfile.segment_key == segment_key
    )
    return session.scalar(query)


def segment_key_for(name: str | None) -> tuple[str | None, str]:
    """The (key, name) of a market segment by name; None for all segments."""
    if name is None:
        return None, ALL_SEGMENTS
    for seg in qbo_state().source.segments():
        if seg.name.casefold() == name.strip().casefold():
            return seg.key, seg.name
    raise QBOSyncError(f"There is no market segment named {name!r}.")


def get_or_create_profile(session: Session, segment_name: str | None) -> SyncProfile:
    key, name = segment_key_for(segment_name)
    profile = find_profile(session, key)
    if profile is None:
        profile = SyncProfile(segment_key=key, segment_name=name)
        session.add(profile)
        session.commit()
    return profile


def new_state() -> str:
    return secrets.token_urlsafe(24)


def parse_redirect(url: str) -> dict[str, str]:
    """code, state, realmId (or error) from the URL Intuit redirected the browser to."""
    query = parse_qs(urlsplit(url.strip()).query)
    return {k: v[0] for k, v in query.items() if v}


def complete_connection(
    session: Session,
    profile: SyncProfile,
    code: str,
    realm_id: str,
    *,
    allow_other_company: bool = False,
    settings: Settings | None = None,
) -> SyncProfile:
    """Exchange the code, store the tokens encrypted, and name the company connected.

    `settings` are the ones the authorization URL was made with (its redirect URI must match).
    Moving to another company revokes the old company's tokens first.
    """
    st = qbo_state()
    settings = settings or st.settings
    if profile.realm_id and profile.realm_id != realm_id:
        if not allow_other_company:
            raise ConnectionProblem(
                "This profile was connected to another QuickBooks company "
                f"({profile.company_name or profile.realm_id}); confirm to connect a different one."
            )
        clear_connection(session, profile)
    tokens = exchange_code(settings, code, realm_id)
    apply_token_set(profile, tokens, TokenCipher.from_settings(st.settings))
    profile.realm_id = realm_id
    profile.connected_at = utcnow()
    session.commit()
    profile.company_name = company_name(session, profile)
    session.commit()
    return profile


def client_for(session_factory: Any, profile: SyncProfile) -> Any:
    from .client import QBOClient
    from .connection import ProfileTokens

    st = qbo_state()
    tokens = ProfileTokens(session_factory, profile.id, st.settings, st.redis)
    return QBOClient(st.settings, str(profile.realm_id), tokens, st.redis)


def company_name(session: Session, profile: SyncProfile) -> str | None:
    db = qbo_state().db
    info = client_for(lambda: Session(db.engine), profile).company_info()
    return str(info.get("CompanyName") or info.get("LegalName") or "") or None


def accounts(profile: SyncProfile) -> list[dict[str, Any]]:
    db = qbo_state().db
    return list(client_for(lambda: Session(db.engine), profile).query_all("Account"))


def update_settings(
    session: Session,
    profile: SyncProfile,
    *,
    sync_after: date | None | str = "",
    ar: tuple[str, str] | None = None,
    income: tuple[str, str] | None = None,
    deposit: tuple[str, str] | None = None,
) -> None:
    """Change what was given: "" for sync_after means unchanged; accounts as (id, name)."""
    if sync_after != "":
        profile.sync_after = sync_after  # type: ignore[assignment]
    if ar:
        profile.ar_account_id, profile.ar_account_name = ar
    if income:
        profile.income_account_id, profile.income_account_name = income
    if deposit:
        profile.deposit_account_id, profile.deposit_account_name = deposit
    session.commit()


def clear_connection(session: Session, profile: SyncProfile) -> None:
    """Revoke the tokens at Intuit and forget them; what was pushed stays recorded."""
    st = qbo_state()
    if profile.refresh_token_enc:
        cipher = TokenCipher.from_settings(st.settings)
        try:
            revoke(st.settings, cipher.decrypt(profile.refresh_token_enc))
        except QBOSyncError as exc:  # revoked already, or Intuit unreachable: forget them anyway
            log.warning("profile %s: tokens not revoked at Intuit (%s)", profile.id, exc)
    profile.access_token_enc = profile.refresh_token_enc = None
    profile.access_token_expires_at = profile.refresh_token_expires_at = None
    profile.reconnect_needed = False
    profile.connected_at = None
    session.commit()
