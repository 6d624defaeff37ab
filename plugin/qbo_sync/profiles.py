"""Connection profiles and companies: connecting, sharing a company, settings, clearing.

A profile is a scope (one market segment or all, Sync Data After) and its accounts; it points
at a company, which holds the OAuth grant. Shared by the CLI and the admin page.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import company_lists
from .client import QBOClient
from .config import Settings
from .connection import (
    CompanyTokens,
    TokenCipher,
    TokenSet,
    apply_token_set,
    exchange_code,
    revoke,
)
from .errors import (
    AuthenticationError,
    AuthorizationError,
    ConnectionProblem,
    QBOSyncError,
    ReconnectNeeded,
)
from .models import Company, SyncProfile, utcnow
from .state import qbo_state

ALL_SEGMENTS = "All segments"
log = logging.getLogger(__name__)


class Revocation(StrEnum):
    """What happened to the company's grant at Intuit when a profile let go of it."""

    REVOKED = "revoked"  # revoked at Intuit and forgotten here
    FAILED = "failed"  # forgotten here; Intuit was not told, the grant may still be live
    KEPT = "kept"  # another profile still uses the company: nothing revoked
    NONE = "none"  # no tokens were stored


class _NewGrant:
    """The token source of a grant not stored yet: its access token, no refresh."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def access_token(self) -> str:
        return self._token

    def refresh_now(self) -> str:
        raise ReconnectNeeded("QuickBooks refused the access token it had just issued")


def _verified_name(settings: Settings, tokens: TokenSet, realm_id: str) -> str | None:
    """The company's name, read with the new grant: proof the grant opens the callback's realm.

    When it does not (the realmId of the answer was changed, or QuickBooks cannot be reached),
    the new grant is revoked and nothing is stored."""
    client = QBOClient(settings, realm_id, _NewGrant(tokens.access_token), qbo_state().redis)
    try:
        info = client.company_info()
    except (AuthorizationError, AuthenticationError, ReconnectNeeded) as exc:
        _revoke_plain(settings, tokens.refresh_token, realm_id)
        raise ConnectionProblem(
            f"QuickBooks' answer named company {realm_id}, but the authorization it carried is "
            "not for that company, so it was refused and revoked. Nothing was stored; press "
            "Setup Authentication and choose the company again."
        ) from exc
    except QBOSyncError as exc:
        _revoke_plain(settings, tokens.refresh_token, realm_id)
        raise ConnectionProblem(
            f"company {realm_id} could not be read to confirm the connection ({exc}). Nothing "
            "was stored; press Setup Authentication to try again."
        ) from exc
    return str(info.get("CompanyName") or info.get("LegalName") or "") or None


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


def connected_companies(session: Session) -> list[Company]:
    return list(
        session.scalars(
            sa.select(Company)
            .where(Company.refresh_token_enc.is_not(None))
            .order_by(Company.company_name, Company.id)
        )
    )


def check_overlap(profile: SyncProfile, company: Company) -> None:
    """Two profiles of one company may not claim the same sales ("All segments" claims all)."""
    for other in company.profiles:
        if other.id == profile.id:
            continue
        if profile.segment_key is None or other.segment_key is None:
            raise ConnectionProblem(
                f"{profile.segment_name} and {other.segment_name} would both synchronize the "
                f"same sales into {company.label}. A company can take either one profile for "
                "all segments or profiles for separate segments; choose another company or "
                f"clear {other.segment_name} first."
            )


def _company(session: Session, realm_id: str) -> Company:
    company = session.scalar(sa.select(Company).where(Company.realm_id == realm_id))
    if company is None:
        company = Company(realm_id=realm_id)
        session.add(company)
        session.flush()
    return company


def complete_connection(
    session: Session,
    profile: SyncProfile,
    code: str,
    realm_id: str,
    *,
    allow_other_company: bool = False,
    settings: Settings | None = None,
) -> SyncProfile:
    """Exchange the code, store the company's tokens encrypted, and point the profile at it.

    `settings` are the ones the authorization URL was made with (its redirect URI must match).
    The new grant must open the callback's realm (its company is read with it first). A
    company connected already gets the new grant (the one it replaces is revoked).
    """
    st = qbo_state()
    settings = settings or st.settings
    if profile.company is not None and profile.company.realm_id != realm_id:
        if not allow_other_company:
            raise ConnectionProblem(
                "This profile was connected to another QuickBooks company "
                f"({profile.company.label}); confirm to connect a different one."
            )
    company = _company(session, realm_id)
    check_overlap(profile, company)
    tokens = exchange_code(settings, code, realm_id)
    name = _verified_name(settings, tokens, realm_id)
    old_refresh = company.refresh_token_enc
    cipher = TokenCipher.from_settings(st.settings)
    apply_token_set(company, tokens, cipher)
    company.connected_at = utcnow()
    previous = profile.company
    profile.company = company
    session.commit()
    if old_refresh:
        _revoke(cipher, old_refresh, company)
    if previous is not None and previous.id != company.id:
        _forget_if_unused(session, previous)
    company.company_name = name or company.company_name
    session.commit()
    return profile


def use_company(session: Session, profile: SyncProfile, company: Company) -> None:
    """Point the profile at a company that is connected already (sharing its connection)."""
    if not company.is_connected:
        raise ConnectionProblem(f"{company.label} is not connected; use Setup Authentication.")
    check_overlap(profile, company)
    previous = profile.company
    profile.company = company
    session.commit()
    if previous is not None and previous.id != company.id:
        _forget_if_unused(session, previous)


def client_for(company: Company) -> QBOClient:
    st = qbo_state()
    db = st.db
    engine = db.engine
    tokens = CompanyTokens(lambda: Session(engine), company.id, st.settings, st.redis)
    return QBOClient(st.settings, company.realm_id, tokens, st.redis)


def accounts(profile: SyncProfile) -> list[dict[str, Any]]:
    """The company's chart of accounts as kept (read from QuickBooks only the first time)."""
    if profile.company is None:
        return []
    company = profile.company
    return company_lists.chart(qbo_state().db.session(), company, lambda: client_for(company))


def refresh_lists(company: Company) -> None:
    """Read the company's accounts, items and payment methods from QuickBooks again."""
    company_lists.read_lists(qbo_state().db.session(), company, client_for(company))


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


def _revoke_plain(settings: Settings, token: str, realm_id: str) -> bool:
    try:
        revoke(settings, token)
    except QBOSyncError as exc:  # Intuit unreachable or refusing: the caller forgets it anyway
        log.warning("company %s: token not revoked at Intuit (%s)", realm_id, exc)
        return False
    return True


def _revoke(cipher: TokenCipher, token_enc: str, company: Company) -> bool:
    """Revoke a stored token's grant at Intuit; False when that failed (or it is unreadable)."""
    try:
        token = cipher.decrypt(token_enc)
    except QBOSyncError as exc:
        log.warning("company %s: token not revoked at Intuit (%s)", company.realm_id, exc)
        return False
    return _revoke_plain(qbo_state().settings, token, company.realm_id)


def _forget_if_unused(session: Session, company: Company) -> Revocation:
    session.refresh(company)
    if company.profiles:
        return Revocation.KEPT
    return forget_company(session, company)


def forget_company(session: Session, company: Company) -> Revocation:
    """Revoke the company's grant at Intuit and forget its tokens, even when the revocation
    fails (then the grant may still be live there); what was pushed stays recorded."""
    outcome = Revocation.NONE
    if company.refresh_token_enc:
        cipher = TokenCipher.from_settings(qbo_state().settings)
        revoked = _revoke(cipher, company.refresh_token_enc, company)
        outcome = Revocation.REVOKED if revoked else Revocation.FAILED
    company.access_token_enc = company.refresh_token_enc = None
    company.access_token_expires_at = company.refresh_token_expires_at = None
    company.refresh_token_hard_expires_at = None
    company.reconnect_needed = False
    company.connected_at = None
    company_lists.forget(session, company)
    session.commit()
    return outcome


def clear_connection(session: Session, profile: SyncProfile) -> Revocation:
    """Detach the profile from its company; the company's grant is revoked and forgotten when
    no other profile uses it. What was pushed stays recorded with the company, so connecting
    it again writes no duplicates."""
    company = profile.company
    if company is None:
        return Revocation.NONE
    profile.company = None
    session.commit()
    return _forget_if_unused(session, company)
