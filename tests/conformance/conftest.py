"""Fixtures: an emulator subprocess per module; python-quickbooks and intuit-oauth aimed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from qbo_emulator.testing import EmulatorProcess
from quickbooks.client import QuickBooks

REDIRECT = "http://127.0.0.1:5000/admin/qbo/callback"
CLIENT = ("conformance-app", "conformance-secret", REDIRECT)
OTHER_CLIENT = ("other-app", "other-secret", "http://127.0.0.1:5001/callback")
ACCOUNTING = "com.intuit.quickbooks.accounting"


@dataclass
class Connected:
    """One authorised connection: the intuit-oauth client, a QuickBooks client and its realm."""

    emu: EmulatorProcess
    auth: AuthClient
    qb: QuickBooks
    realm_id: str

    def url(self, path: str) -> str:
        return f"{self.emu.base_url}/v3/company/{self.realm_id}/{path}"

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A plain HTTP call with the current bearer token (for byte-level checks)."""
        headers = {
            "Authorization": f"Bearer {self.auth.access_token}",
            "Accept": "application/json",
        }
        headers.update(kwargs.pop("headers", {}))
        params = {"minorversion": "75", **kwargs.pop("params", {})}
        return requests.request(
            method, self.url(path), headers=headers, params=params, timeout=30, **kwargs
        )


def quickbooks_class(emu: EmulatorProcess) -> type[QuickBooks]:
    """python-quickbooks unmodified apart from its base URLs."""
    base = f"{emu.base_url}/v3"
    return type("LocalQuickBooks", (QuickBooks,), {"api_url_v3": base, "sandbox_api_url_v3": base})


def auth_client(emu: EmulatorProcess, client: tuple[str, str, str] = CLIENT) -> AuthClient:
    return AuthClient(client[0], client[1], client[2], environment=emu.discovery_url)


def redirect_params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def connect(
    emu: EmulatorProcess,
    company: str = "Company A",
    client: tuple[str, str, str] = CLIENT,
) -> Connected:
    """Run the whole code flow like a user pressing Authorize, then build a QuickBooks client."""
    auth = auth_client(emu, client)
    url = emu.authorize(client[0], client[2], "state-123", company=company, scope=ACCOUNTING)
    params = redirect_params(url)
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    qb = quickbooks_class(emu)(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=params["realmId"],
        minorversion=75,
    )
    return Connected(emu, auth, qb, params["realmId"])


class Kit:
    """Helpers handed to tests through the `kit` fixture (tests/conformance is no package)."""

    REDIRECT = REDIRECT
    CLIENT = CLIENT
    OTHER_CLIENT = OTHER_CLIENT
    ACCOUNTING = ACCOUNTING
    connect = staticmethod(connect)
    auth_client = staticmethod(auth_client)
    quickbooks_class = staticmethod(quickbooks_class)
    redirect_params = staticmethod(redirect_params)

    @staticmethod
    def start_emulator(tmp: Path, **kwargs: Any) -> EmulatorProcess:
        return start_emulator(tmp, **kwargs)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture(scope="module", autouse=True)
def insecure_transport() -> Iterator[None]:
    """requests-oauthlib refuses http:// unless this is set; only for these tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        yield


def start_emulator(tmp: Path, **kwargs: Any) -> EmulatorProcess:
    clients = kwargs.pop("clients", [CLIENT, OTHER_CLIENT])
    return EmulatorProcess(db_path=tmp / "emu.db", clients=clients, control=True, **kwargs)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    # K=100 keeps fast tests under the 10 requests/second limit (10 per 10 ms real time);
    # tokens then live 36 s of real time, longer than any module here runs.
    with start_emulator(tmp_path_factory.mktemp("emu"), time_scale=100.0) as process:
        yield process


@pytest.fixture(scope="module")
def conn(emu: EmulatorProcess) -> Connected:
    return connect(emu, "Company A")
