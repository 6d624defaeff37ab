"""Who is who: whether a QuickBooks customer is the same person as a CRM customer."""

from __future__ import annotations

from typing import Any

from ..source import CustomerRecord


def _digits(value: str | None) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())[-10:]


def same_person(ours: CustomerRecord, theirs: dict[str, Any]) -> bool:
    """Linked on a name clash only when the e-mail or a phone number matches."""
    email = (theirs.get("PrimaryEmailAddr") or {}).get("Address", "")
    if ours.email and email and ours.email.strip().casefold() == email.strip().casefold():
        return True
    our_phones = {_digits(p) for p in (ours.phone, ours.alt_phone)} - {""}
    their_phones = {
        _digits((theirs.get(k) or {}).get("FreeFormNumber"))
        for k in ("PrimaryPhone", "AlternatePhone", "Mobile")
    } - {""}
    return bool(our_phones & their_phones)
