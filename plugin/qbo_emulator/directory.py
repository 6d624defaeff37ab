"""The companies this emulator serves, as the front door and the consent page name them: the
seeded name ("Company A"), the CompanyInfo CompanyName someone may have changed, the realm id."""

from __future__ import annotations

from dataclasses import dataclass

from .repo import Repo
from .state import Emulator


@dataclass(frozen=True)
class Company:
    """One company (realm) of the emulator."""

    name: str  # the seeded name, stable: tests and `--companies` use it
    company_name: str  # CompanyInfo.CompanyName, what QuickBooks shows the user
    realm_id: str


def companies(emu: Emulator) -> list[Company]:
    """Every company, in seeding order."""
    found: list[Company] = []
    with emu.store.read() as conn:
        for name, realm_id in emu.realms.items():
            info = Repo(conn, realm_id, emu.clock).get("CompanyInfo", "1") or {}
            found.append(Company(name, str(info.get("CompanyName") or name), realm_id))
    return found
