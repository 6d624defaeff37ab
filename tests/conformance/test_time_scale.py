"""--time-scale and --latency-ms: an hour of token life, a code's 10 minutes, added delay."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer

if TYPE_CHECKING:
    from conftest import Kit

pytestmark = pytest.mark.conformance


def test_access_token_lives_one_hour_of_emulator_time(kit: type[Kit], tmp_path: Path) -> None:
    with kit.start_emulator(tmp_path, time_scale=3600.0) as emu:
        link = kit.connect(emu)
        assert Customer.count(qb=link.qb) == 0
        time.sleep(1.2)
        with pytest.raises(AuthorizationException) as err:
            Customer.count(qb=link.qb)
        assert err.value.error_code == 401
        assert '"code": "3200"' in err.value.detail
        link.auth.refresh(refresh_token=link.auth.refresh_token)
        qb = kit.quickbooks_class(emu)(
            auth_client=link.auth,
            refresh_token=link.auth.refresh_token,
            company_id=link.realm_id,
            minorversion=75,
        )
        assert Customer.count(qb=qb) == 0


def test_authorization_code_expires_after_ten_minutes(kit: type[Kit], tmp_path: Path) -> None:
    with kit.start_emulator(tmp_path, time_scale=3600.0) as emu:
        url = emu.authorize(kit.CLIENT[0], kit.REDIRECT, "s")
        time.sleep(0.3)  # 0.3 s x 3600 = 18 minutes
        with pytest.raises(AuthClientError) as err:
            kit.auth_client(emu).get_bearer_token(kit.redirect_params(url)["code"])
        assert err.value.response.json() == {"error": "invalid_grant"}


def test_latency_is_added_and_scaled(kit: type[Kit], tmp_path: Path) -> None:
    with kit.start_emulator(tmp_path, time_scale=2.0, latency_ms=600) as emu:
        link = kit.connect(emu)
        started = time.monotonic()
        answer = link.raw("GET", f"companyinfo/{link.realm_id}")
        elapsed = time.monotonic() - started
        assert answer.status_code == 200
        assert 0.3 <= elapsed < 0.6
        started = time.monotonic()
        requests.get(emu.discovery_url, timeout=5)
        assert time.monotonic() - started < 0.2, "OAuth endpoints carry no API latency"
