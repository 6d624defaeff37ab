"""The emulator's front door (`/`, the URL `make demo` prints) and its consent page, which lists
each company as Intuit's "Select a company" step does and sends the chosen realm back."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from intuitlib.enums import Scopes
from qbo_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from conftest import Kit

pytestmark = pytest.mark.conformance

RADIO = re.compile(
    r'<label><input type="radio" name="realmId" value="([^"]+)"[^>]*>\s*([^<]*)</label>'
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
RENAMED = "Carla's <b>Roofing</b> & Sons"


def rows(page: str, table_id: str) -> list[list[str]]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells:
            found.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return found


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, kit: type[Kit]) -> Iterator[EmulatorProcess]:
    """Three companies; Company C renamed in QuickBooks to a name with markup in it."""
    tmp: Path = tmp_path_factory.mktemp("front")
    with kit.start_emulator(tmp, time_scale=100.0, companies=3) as emu:
        conn = kit.connect(emu, "Company C")
        info = conn.raw("GET", f"companyinfo/{conn.realm_id}").json()["CompanyInfo"]
        body = {"Id": info["Id"], "SyncToken": info["SyncToken"], "sparse": True}
        renamed = conn.raw("POST", "companyinfo", json={**body, "CompanyName": RENAMED})
        assert renamed.status_code == 200
        yield emu


def test_front_door_lists_every_company_with_working_links(three: EmulatorProcess) -> None:
    # `make demo` prints the emulator's base URL with a slash: this page
    page = requests.get(f"{three.base_url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<b>Roofing</b>" not in page.text
    assert "Carla&#39;s &lt;b&gt;Roofing&lt;/b&gt; &amp; Sons" in page.text
    listed = rows(page.text, "companies")
    assert [r[:3] for r in listed] == [
        ["Company A", "Company A", three.realm_ids["Company A"]],
        ["Company B", "Company B", three.realm_ids["Company B"]],
        ["Company C", RENAMED, three.realm_ids["Company C"]],
    ]
    links = re.findall(r'href="(/app/[^"]+)"', page.text)
    assert links == [f"/app/{realm}/" for realm in three.realm_ids.values()]
    for link, (name, realm) in zip(links, three.realm_ids.items(), strict=True):
        workbook = requests.get(f"{three.base_url}{link}", timeout=5)
        assert workbook.status_code == 200, name
        assert "<h1>Customers</h1>" in workbook.text and f"realmId {realm}" in workbook.text


def test_app_without_a_company_leads_to_the_front_door(three: EmulatorProcess) -> None:
    for path in ("/app/", "/app"):
        page = requests.get(f"{three.base_url}{path}", timeout=5)
        assert page.status_code == 200 and page.url == f"{three.base_url}/"
        assert "<h1>QuickBooks Online emulator</h1>" in page.text


def test_consent_page_lists_each_company_and_sends_the_chosen_realm_back(
    three: EmulatorProcess, kit: type[Kit]
) -> None:
    auth = kit.auth_client(three)
    url = auth.get_authorization_url([Scopes.ACCOUNTING], state_token="pick-c")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert "<h1>Select a company</h1>" in page.text
    assert "<b>Roofing</b>" not in page.text
    choices = [(realm, html.unescape(label.strip())) for realm, label in RADIO.findall(page.text)]
    assert choices == [
        (three.realm_ids["Company A"], "Company A"),
        (three.realm_ids["Company B"], "Company B"),
        (three.realm_ids["Company C"], RENAMED),
    ]
    assert ">Authorize</button>" in page.text and ">Cancel</button>" in page.text

    # the user picks the renamed company and presses Authorize
    form = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
    chosen = next(realm for realm, label in choices if label == RENAMED)
    answer = requests.post(
        f"{three.base_url}/connect/oauth2",
        data={**form, "realmId": chosen, "action": "authorize"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    params = kit.redirect_params(answer.headers["Location"])
    assert params["realmId"] == three.realm_ids["Company C"] and params["state"] == "pick-c"
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    info = requests.get(  # the grant reads the chosen company
        f"{three.base_url}/v3/company/{params['realmId']}/companyinfo/{params['realmId']}",
        headers={"Authorization": f"Bearer {auth.access_token}", "Accept": "application/json"},
        timeout=5,
    ).json()
    assert info["CompanyInfo"]["CompanyName"] == RENAMED


def test_the_testing_helper_chooses_by_the_name_the_page_shows(
    three: EmulatorProcess, kit: type[Kit]
) -> None:
    url = three.authorize(kit.CLIENT[0], kit.REDIRECT, "by-label", company=RENAMED)
    assert kit.redirect_params(url)["realmId"] == three.realm_ids["Company C"]
    with pytest.raises(ValueError, match="not offered"):
        three.authorize(kit.CLIENT[0], kit.REDIRECT, "nope", company="Company Z")


def test_connect_without_choosing_a_company_connects_nothing(
    three: EmulatorProcess, kit: type[Kit]
) -> None:
    url = kit.auth_client(three).get_authorization_url([Scopes.ACCOUNTING], state_token="none")
    page = requests.get(url, timeout=5)
    assert " required checked" not in page.text  # several companies: the user must pick one
    form = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
    answer = requests.post(
        f"{three.base_url}/connect/oauth2",
        data={**form, "action": "authorize"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 400 and "Choose a company to connect to." in answer.text
