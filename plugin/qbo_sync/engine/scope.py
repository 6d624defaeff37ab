"""Which sales a company's books hold: those its profiles' scopes claim, and those pushed
there that no other company has claimed since (a pushed sale stays maintained until it is
cancelled, deleted, or moved to a segment that belongs to another company)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import SyncProfile
from ..source import SaleRecord


def in_profile(profile: SyncProfile, sale: SaleRecord) -> bool:
    """The profile's market segment (or all) and its Sync Data After date, on sold-on."""
    if profile.segment_key is not None and profile.segment_key != sale.segment_key:
        return False
    return profile.sync_after is None or sale.sold_on >= profile.sync_after


@dataclass(frozen=True)
class CompanyScope:
    profiles: Sequence[SyncProfile]
    # Segments that profiles of OTHER companies name: a sale moved there leaves this company.
    elsewhere: frozenset[str]

    def claim(
        self, sale: SaleRecord, pushed_here: bool, pushed_by: int | None
    ) -> tuple[SyncProfile | None, str]:
        """The profile whose accounts the sale's documents use, or None with the reason."""
        if sale.status == "cancelled":
            return None, "cancelled in the CRM"
        for profile in self.profiles:
            if in_profile(profile, sale):
                return profile, ""
        if not pushed_here:
            return None, "not in this company's scope"
        if sale.segment_key is not None and sale.segment_key in self.elsewhere:
            return None, "moved to a market segment synchronized into another company"
        for profile in self.profiles:
            if profile.id == pushed_by:
                return profile, ""
        return (self.profiles[0], "") if self.profiles else (None, "no profile")
