"""OAuth 2.0 as Intuit does it, driven through intuit-oauth and a browser-like consent page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from qbo_emulator.testing import EmulatorProcess
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = pytest.mark.conformance


def test_discovery_document_names_every_endpoint(kit: type[Kit], emu: EmulatorProcess) -> None:
    for path in ("openid_configuration", "openid_sandbox_configuration/"):
        doc = requests.get(f"{emu.base_url}/.well-known/{path}", timeout=5).json()
        assert doc["authorization_endpoint"] == f"{emu.base_url}/connect/oauth2"
        assert doc["token_endpoint"] == f"{emu.base_url}/oauth2/v1/tokens/bearer"
        assert doc["revocation_endpoint"] == f"{emu.base_url}/v2/oauth2/tokens/revoke"
        assert doc["response_types_supported"] == ["code"]
    auth = kit.auth_client(emu)
    assert auth.token_endpoint == f"{emu.base_url}/oauth2/v1/tokens/bearer"


def test_consent_page_lists_both_companies(kit: type[Kit], emu: EmulatorProcess) -> None:
    auth = kit.auth_client(emu)
    url = auth.get_authorization_url([Scopes.ACCOUNTING], state_token="s1")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert "Which company would you like to connect to?" in page.text
    assert 'name="realmId"' in page.text
    for name, realm in emu.realm_ids.items():
        assert name in page.text and realm in page.text
    assert ">Authorize</button>" in page.text and ">Cancel</button>" in page.text
    assert len(set(emu.realm_ids.values())) == 2


def test_authorize_redirects_with_code_state_and_realm(
    kit: type[Kit], emu: EmulatorProcess
) -> None:
    url = emu.authorize(kit.CLIENT[0], kit.REDIRECT, "xyz-42", company="Company B")
    assert url.startswith(kit.REDIRECT + "?")
    params = kit.redirect_params(url)
    assert params["state"] == "xyz-42"
    assert params["realmId"] == emu.realm_ids["Company B"]
    assert len(params["code"]) > 20


def test_cancel_redirects_with_access_denied(kit: type[Kit], emu: EmulatorProcess) -> None:
    url = emu.authorize(kit.CLIENT[0], kit.REDIRECT, "st-9", action="cancel")
    assert kit.redirect_params(url) == {"error": "access_denied", "state": "st-9"}


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [("nobody", "http://127.0.0.1:5000/admin/qbo/callback"), ("conformance-app", "http://x/evil")],
)
def test_unknown_client_or_redirect_gets_an_error_page(
    kit: type[Kit], emu: EmulatorProcess, client_id: str, redirect_uri: str
) -> None:
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": kit.ACCOUNTING,
        "state": "s",
    }
    page = requests.get(
        f"{emu.base_url}/connect/oauth2", params=params, timeout=5, allow_redirects=False
    )
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "not registered" in page.text


def test_code_exchange_gives_intuit_token_fields(kit: type[Kit], emu: EmulatorProcess) -> None:
    auth = kit.auth_client(emu)
    params = kit.redirect_params(emu.authorize(kit.CLIENT[0], kit.REDIRECT, "s"))
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    assert auth.expires_in == 3600
    assert auth.x_refresh_token_expires_in == 8726400
    assert auth.access_token and auth.refresh_token
    assert auth.realm_id == emu.realm_ids["Company A"]


def test_code_is_single_use(kit: type[Kit], emu: EmulatorProcess) -> None:
    params = kit.redirect_params(emu.authorize(kit.CLIENT[0], kit.REDIRECT, "s"))
    kit.auth_client(emu).get_bearer_token(params["code"])
    with pytest.raises(AuthClientError) as err:
        kit.auth_client(emu).get_bearer_token(params["code"])
    assert err.value.status_code == 400
    assert err.value.content and b"invalid_grant" in err.value.content
    assert err.value.intuit_tid


def test_code_bound_to_its_redirect_uri(kit: type[Kit], emu: EmulatorProcess) -> None:
    params = kit.redirect_params(emu.authorize(kit.CLIENT[0], kit.REDIRECT, "s"))
    auth = kit.auth_client(emu)
    auth.redirect_uri = "http://127.0.0.1:5000/other"
    with pytest.raises(AuthClientError) as err:
        auth.get_bearer_token(params["code"])
    assert err.value.response.json() == {"error": "invalid_grant"}


def test_wrong_client_secret_is_invalid_client(kit: type[Kit], emu: EmulatorProcess) -> None:
    params = kit.redirect_params(emu.authorize(kit.CLIENT[0], kit.REDIRECT, "s"))
    bad = kit.auth_client(emu, (kit.CLIENT[0], "wrong-secret", kit.REDIRECT))
    with pytest.raises(AuthClientError) as err:
        bad.get_bearer_token(params["code"])
    assert err.value.status_code == 401
    assert err.value.response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_old_token_dies_once_new_one_is_used(
    kit: type[Kit], emu: EmulatorProcess
) -> None:
    link = kit.connect(emu)
    first = link.auth.refresh_token
    link.auth.refresh(refresh_token=first)
    second = link.auth.refresh_token
    assert second != first
    # the previous token still works while its successor is unused ...
    link.auth.refresh(refresh_token=first)
    third = link.auth.refresh_token
    assert third not in (first, second)
    # ... the unused successor it replaced is gone ...
    with pytest.raises(AuthClientError):
        kit.auth_client(emu).refresh(refresh_token=second)
    # ... and once the newest is used, the older one is refused.
    link.auth.refresh(refresh_token=third)
    fourth = link.auth.refresh_token
    with pytest.raises(AuthClientError) as err:
        kit.auth_client(emu).refresh(refresh_token=first)
    assert err.value.response.json() == {"error": "invalid_grant"}
    # python-quickbooks refreshes on construction when it has no access token
    fresh = kit.auth_client(emu)
    qb = kit.quickbooks_class(emu)(
        auth_client=fresh, refresh_token=fourth, company_id=link.realm_id, minorversion=75
    )
    assert qb.refresh_token not in (first, second, third, fourth)
    assert Customer.count(qb=qb) >= 0
    with pytest.raises(AuthClientError):
        kit.auth_client(emu).refresh(refresh_token=third)


def test_refresh_with_other_apps_client_is_refused(kit: type[Kit], emu: EmulatorProcess) -> None:
    link = kit.connect(emu)
    with pytest.raises(AuthClientError) as err:
        kit.auth_client(emu, kit.OTHER_CLIENT).refresh(refresh_token=link.auth.refresh_token)
    assert err.value.response.json() == {"error": "invalid_grant"}


def test_revoke_cuts_off_refresh_and_access_tokens(kit: type[Kit], emu: EmulatorProcess) -> None:
    link = kit.connect(emu)
    assert Customer.count(qb=link.qb) >= 0
    refresh_token = link.auth.refresh_token
    assert link.auth.revoke(token=refresh_token) is True
    with pytest.raises(AuthorizationException) as err:
        Customer.count(qb=link.qb)
    assert err.value.error_code == 401
    with pytest.raises(AuthClientError):
        kit.auth_client(emu).refresh(refresh_token=refresh_token)


def test_scripted_revoke_failure_then_revoke_and_the_ledger(
    kit: type[Kit], emu: EmulatorProcess
) -> None:
    """The control API makes the next revoke answer 500 (Intuit down); the grant stays live
    until a revoke succeeds, and the OAuth ledger counts both answers and the exchange."""
    before = emu.http.get(f"{emu.base_url}/_emulator/oauth/stats", timeout=10).json()
    link = kit.connect(emu)
    refresh_token = link.auth.refresh_token
    faults = emu.http.post(
        f"{emu.base_url}/_emulator/oauth/faults",
        json={"endpoint": "revoke", "status": 500, "count": 1},
        timeout=10,
    )
    assert faults.json() == {"revoke": [500]}
    with pytest.raises(AuthClientError) as err:
        link.auth.revoke(token=refresh_token)
    assert err.value.status_code == 500
    assert Customer.count(qb=link.qb) >= 0  # still connected: nothing was revoked
    assert link.auth.revoke(token=refresh_token) is True
    with pytest.raises(AuthClientError):
        kit.auth_client(emu).refresh(refresh_token=refresh_token)
    after = emu.http.get(f"{emu.base_url}/_emulator/oauth/stats", timeout=10).json()

    def grew(key: str) -> int:
        return int(after.get(key, 0)) - int(before.get(key, 0))

    assert (grew("revoke_failed"), grew("revoke"), grew("authorization_code")) == (1, 1, 1)
    assert grew("refresh_token_refused") == 1
    bad = emu.http.post(
        f"{emu.base_url}/_emulator/oauth/faults", json={"endpoint": "userinfo"}, timeout=10
    )
    assert bad.status_code == 400


def test_api_401_for_garbage_and_expired_tokens(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    answer = requests.get(
        conn.url("companyinfo/" + conn.realm_id),
        headers={"Authorization": "Bearer not-a-token", "Accept": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 401
    body = answer.json()
    assert body["fault"]["error"][0]["code"] == "3200"
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert "AuthenticationFailed" in body["fault"]["error"][0]["message"]
    assert isinstance(body["time"], int) and "Fault" not in body
    assert answer.headers["intuit_tid"]


def test_token_used_on_another_company_gets_403(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    other = emu.realm_ids["Company B"]
    answer = requests.get(
        f"{emu.base_url}/v3/company/{other}/companyinfo/{other}",
        headers={"Authorization": f"Bearer {conn.auth.access_token}"},
        timeout=5,
    )
    assert answer.status_code == 403
    error = answer.json()["fault"]["error"][0]
    assert error["code"] == "3100"
    assert "statusCode=403" in error["message"]


def test_every_response_has_intuit_tid(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    answers = [
        requests.get(emu.discovery_url, timeout=5),
        conn.raw("GET", f"companyinfo/{conn.realm_id}"),
        conn.raw("GET", "customer/99999"),
        requests.post(f"{emu.base_url}/oauth2/v1/tokens/bearer", data={}, timeout=5),
    ]
    tids = [a.headers.get("intuit_tid") for a in answers]
    assert all(tids) and len(set(tids)) == len(tids)


def test_company_b_is_a_separate_realm(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    link_b = kit.connect(emu, "Company B")
    Customer.from_json({"DisplayName": "Only In A"}).save(qb=conn.qb)
    names_b = [c.DisplayName for c in Customer.all(qb=link_b.qb)]
    assert "Only In A" not in names_b
    assert link_b.qb.company_id == emu.realm_ids["Company B"]


def test_expired_tokens_then_refresh_recovers(kit: type[Kit], emu: EmulatorProcess) -> None:
    link = kit.connect(emu)
    emu.expire_tokens()
    with pytest.raises(AuthorizationException) as err:
        Customer.count(qb=link.qb)
    assert err.value.error_code == 401
    link.auth.refresh(refresh_token=link.auth.refresh_token)
    qb = kit.quickbooks_class(emu)(
        auth_client=link.auth,
        refresh_token=link.auth.refresh_token,
        company_id=link.realm_id,
        minorversion=75,
    )
    assert Customer.count(qb=qb) >= 0
