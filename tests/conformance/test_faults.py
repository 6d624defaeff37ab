"""Control API: every injected fault as a client sees it; stats; control off means 404."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from qbo_emulator.testing import EmulatorProcess
from quickbooks.exceptions import QuickbooksException, SevereException, ValidationException
from quickbooks.objects.customer import Customer

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = pytest.mark.conformance


@pytest.fixture(autouse=True)
def no_leftover_faults(emu: EmulatorProcess, conn: Connected) -> None:
    emu.clear_faults(conn.realm_id)


def test_injected_429s_then_recovery(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "429", count=2)
    for _ in range(2):
        answer = conn.raw("GET", "query", params={"query": "select * from Item"})
        assert answer.status_code == 429
        error = answer.json()["Fault"]["Error"][0]
        assert error["code"] == "3001" and "ThrottleExceeded" in error["Message"]
        assert answer.json()["Fault"]["type"] == "SERVICE"
    assert conn.raw("GET", "query", params={"query": "select * from Item"}).status_code == 200


def test_python_quickbooks_sees_throttle_as_validation_3001(
    emu: EmulatorProcess, conn: Connected
) -> None:
    emu.inject(conn.realm_id, "429")
    with pytest.raises(ValidationException) as err:
        Customer.count(qb=conn.qb)
    assert err.value.error_code == 3001


def test_injected_500_and_503(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "500")
    with pytest.raises(SevereException) as err:
        Customer.count(qb=conn.qb)
    assert err.value.error_code == 10000
    emu.inject(conn.realm_id, "503")
    answer = conn.raw("GET", "query", params={"query": "select * from Item"})
    assert answer.status_code == 503 and "Service" in answer.text
    emu.inject(conn.realm_id, "503")
    with pytest.raises(QuickbooksException) as err2:
        Customer.count(qb=conn.qb)
    assert err2.value.error_code == 10000


def test_injected_504_is_a_service_fault_6002(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "504")
    answer = conn.raw("GET", "query", params={"query": "select * from Item"})
    assert answer.status_code == 504
    assert answer.headers["Content-Type"].startswith("application/json")
    fault = answer.json()["Fault"]
    assert fault["type"] == "SERVICE"
    error = fault["Error"][0]
    assert error["code"] == "6002" and error["Detail"] == "Timeout occurred while proxying request"
    assert "statusCode=504" in error["Message"]
    emu.inject(conn.realm_id, "504")
    with pytest.raises(QuickbooksException) as err:  # a Fault python-quickbooks has no class for
        Customer.count(qb=conn.qb)
    assert err.value.error_code == 6002


def test_injected_502_is_an_html_bad_gateway(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "502")
    answer = conn.raw("GET", "query", params={"query": "select * from Item"})
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in answer.text and answer.headers["intuit_tid"]
    emu.inject(conn.realm_id, "502")
    with pytest.raises(QuickbooksException) as err:
        Customer.count(qb=conn.qb)
    assert err.value.error_code == 10000


def test_maintenance_page_is_html_with_status_200(emu: EmulatorProcess, conn: Connected) -> None:
    """The stricter reading of an unconfirmed status: the page says 200 and is no answer."""
    emu.inject(conn.realm_id, "maintenance", entity="Customer")
    answer = conn.raw("POST", "customer", json={"DisplayName": "During Maintenance"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "We'll be back soon" in answer.text
    assert Customer.count("DisplayName = 'During Maintenance'", qb=conn.qb) == 0  # not written
    emu.inject(conn.realm_id, "maintenance")
    with pytest.raises(QuickbooksException) as err:
        Customer.count(qb=conn.qb)
    assert err.value.error_code == 10000 and "json" in err.value.message.lower()


def test_a_slow_write_beyond_the_timeout_commits_and_its_replay_returns_it_once(
    emu: EmulatorProcess, conn: Connected
) -> None:
    emu.inject(conn.realm_id, "slow", entity="Customer", seconds=1.5)
    body = {"DisplayName": "Slow But Saved"}
    headers = {"Authorization": f"Bearer {conn.auth.access_token}", "Accept": "application/json"}
    params = {"minorversion": "75", "requestid": "slow-1"}
    with pytest.raises(requests.ReadTimeout):
        requests.post(conn.url("customer"), params=params, json=body, headers=headers, timeout=0.4)
    # QuickBooks carries on after the client gave up: the write lands, and the retry with the
    # same requestid is answered from it instead of writing again.
    deadline = time.monotonic() + 10
    while Customer.count("DisplayName = 'Slow But Saved'", qb=conn.qb) == 0:
        assert time.monotonic() < deadline, "the slow write never landed"
        time.sleep(0.05)
    again = conn.raw("POST", "customer", params={"requestid": "slow-1"}, json=body)
    assert again.status_code == 200 and again.json()["Customer"]["SyncToken"] == "0"
    assert Customer.count("DisplayName = 'Slow But Saved'", qb=conn.qb) == 1


def test_faults_filtered_by_entity(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "500", entity="Invoice")
    assert conn.raw("POST", "customer", json={"DisplayName": "Unaffected"}).status_code == 200
    answer = conn.raw("GET", "query", params={"query": "select * from Invoice"})
    assert answer.status_code == 500


def test_slow_reply_times_out_client(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "slow", seconds=1.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(
            conn.url("query"),
            params={"query": "select * from Item"},
            headers={"Authorization": f"Bearer {conn.auth.access_token}"},
            timeout=0.4,
        )
    assert conn.raw("GET", "query", params={"query": "select * from Item"}).status_code == 200


def test_drop_before_write_is_a_connection_error_and_writes_nothing(
    emu: EmulatorProcess, conn: Connected
) -> None:
    emu.inject(conn.realm_id, "drop_before_write", entity="Customer")
    assert conn.raw("GET", "query", params={"query": "select * from Customer"}).status_code == 200
    emu.reset_stats(conn.realm_id)
    with pytest.raises(requests.ConnectionError):
        conn.raw(
            "POST", "customer", params={"requestid": "drop-1"}, json={"DisplayName": "Dropped"}
        )
    assert Customer.count("DisplayName = 'Dropped'", qb=conn.qb) == 0
    stats = emu.stats(conn.realm_id)
    assert stats["executed_writes"] == 0 and stats["dropped"] == 1
    retry = conn.raw(
        "POST", "customer", params={"requestid": "drop-1"}, json={"DisplayName": "Dropped"}
    )
    assert retry.status_code == 200
    assert Customer.count("DisplayName = 'Dropped'", qb=conn.qb) == 1


def test_lost_response_after_write_then_replay(emu: EmulatorProcess, conn: Connected) -> None:
    emu.inject(conn.realm_id, "lose_response_after_write")
    customer = Customer()
    customer.DisplayName = "Committed Then Lost"
    with pytest.raises(requests.ConnectionError):
        customer.save(qb=conn.qb, request_id="lost-1")
    assert Customer.count("DisplayName = 'Committed Then Lost'", qb=conn.qb) == 1
    emu.reset_stats(conn.realm_id)
    again = customer.save(qb=conn.qb, request_id="lost-1")
    assert again.DisplayName == "Committed Then Lost" and again.SyncToken == "0"
    assert Customer.count("DisplayName = 'Committed Then Lost'", qb=conn.qb) == 1
    stats = emu.stats(conn.realm_id)
    assert stats["replays"] == 1 and stats["executed_writes"] == 0


def test_stats_count_by_method_entity_status(emu: EmulatorProcess, conn: Connected) -> None:
    emu.reset_stats(conn.realm_id)
    conn.raw("GET", "query", params={"query": "select * from Customer"})
    conn.raw("POST", "customer", json={"DisplayName": "Stats Co"})
    conn.raw("POST", "customer", json={"DisplayName": "Stats Co"})
    emu.inject(conn.realm_id, "429")
    conn.raw("GET", "customer/1")
    stats = emu.stats(conn.realm_id)
    assert stats["requests"] == 4 and stats["reads"] == 2 and stats["writes"] == 2
    assert stats["by_method"] == {"GET": 2, "POST": 2}
    assert stats["by_entity"] == {"Customer": 4}
    assert stats["by_status"] == {"200": 2, "400": 1, "429": 1}
    assert stats["throttled"] == 1 and stats["executed_writes"] == 1
    emu.reset_stats(conn.realm_id)
    assert emu.stats(conn.realm_id)["requests"] == 0


def test_unknown_fault_kind_is_rejected(emu: EmulatorProcess, conn: Connected) -> None:
    with pytest.raises(requests.HTTPError):
        emu.inject(conn.realm_id, "explode")


def test_control_api_is_404_without_control(kit: type[Kit], tmp_path: Path) -> None:
    quiet = EmulatorProcess(db_path=tmp_path / "emu.db", clients=[kit.CLIENT], control=False)
    with quiet:
        realm = quiet.realm_ids["Company A"]
        for path in ("stats", "faults", "realms"):
            answer = requests.get(
                f"{quiet.base_url}/_emulator/{path}", params={"realmId": realm}, timeout=5
            )
            assert answer.status_code == 404
        assert (
            requests.post(f"{quiet.base_url}/_emulator/expire-tokens", timeout=5).status_code == 404
        )
