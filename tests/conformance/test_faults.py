"""Control API: every injected fault as a client sees it; stats; control off means 404."""

from __future__ import annotations

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
