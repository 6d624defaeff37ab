"""requestid: replays byte for byte per company, never executes twice, batch included."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from qbo_emulator.testing import EmulatorProcess
from quickbooks.objects.customer import Customer
from quickbooks.objects.payment import Payment

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = pytest.mark.conformance


def test_replay_is_byte_for_byte_and_does_not_execute(
    emu: EmulatorProcess, conn: Connected
) -> None:
    emu.reset_stats(conn.realm_id)
    body = {"DisplayName": "Replay Ltd"}
    first = conn.raw("POST", "customer", params={"requestid": "rid-cust-1"}, json=body)
    second = conn.raw("POST", "customer", params={"requestid": "rid-cust-1"}, json=body)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert Customer.count("DisplayName = 'Replay Ltd'", qb=conn.qb) == 1
    stats = emu.stats(conn.realm_id)
    assert stats["executed_writes"] == 1 and stats["replays"] == 1 and stats["writes"] == 2


def test_python_quickbooks_request_id_retry(conn: Connected) -> None:
    customer = Customer()
    customer.DisplayName = "Retry Via Library"
    first = customer.save(qb=conn.qb, request_id="lib-retry-1")
    again = Customer()
    again.DisplayName = "Retry Via Library"
    second = again.save(qb=conn.qb, request_id="lib-retry-1")
    assert first.Id == second.Id and second.SyncToken == "0"


def test_fault_is_replayed_too(conn: Connected) -> None:
    body = {"DisplayName": "Bad:Name"}
    first = conn.raw("POST", "customer", params={"requestid": "rid-fault"}, json=body)
    assert first.status_code == 400
    fixed = conn.raw(
        "POST", "customer", params={"requestid": "rid-fault"}, json={"DisplayName": "Good"}
    )
    assert fixed.status_code == 400 and fixed.content == first.content


def test_same_request_id_other_company_executes(
    kit: type[Kit], emu: EmulatorProcess, conn: Connected
) -> None:
    other = kit.connect(emu, "Company B")
    a = conn.raw(
        "POST", "customer", params={"requestid": "shared-rid"}, json={"DisplayName": "In A"}
    )
    b = other.raw(
        "POST", "customer", params={"requestid": "shared-rid"}, json={"DisplayName": "In B"}
    )
    assert a.json()["Customer"]["DisplayName"] == "In A"
    assert b.json()["Customer"]["DisplayName"] == "In B"


def test_batch_replay(emu: EmulatorProcess, conn: Connected) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Batch Replay 1"}},
            {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Batch Replay 2"}},
        ]
    }
    emu.reset_stats(conn.realm_id)
    first = conn.raw("POST", "batch", params={"requestid": "batch-rid-1"}, json=body)
    second = conn.raw("POST", "batch", params={"requestid": "batch-rid-1"}, json=body)
    assert first.content == second.content
    assert Customer.count("DisplayName LIKE 'Batch Replay%'", qb=conn.qb) == 2
    assert emu.stats(conn.realm_id)["executed_writes"] == 1


def test_request_id_limits(conn: Connected) -> None:
    too_long = conn.raw(
        "POST", "customer", params={"requestid": "r" * 51}, json={"DisplayName": "Long Rid"}
    )
    assert too_long.status_code == 400
    assert too_long.json()["Fault"]["Error"][0]["code"] == "2050"
    fifty = conn.raw(
        "POST", "customer", params={"requestid": "r" * 50}, json={"DisplayName": "Rid 50"}
    )
    assert fifty.status_code == 200
    batch = {"BatchItemRequest": [{"bId": "b" * 11, "Query": "select * from Item"}]}
    answer = conn.raw("POST", "batch", params={"requestid": "batch-rid-2"}, json=batch)
    assert answer.status_code == 400
    assert Customer.count("DisplayName = 'Long Rid'", qb=conn.qb) == 0


def test_replay_after_the_payment_was_deleted(emu: EmulatorProcess, conn: Connected) -> None:
    """Field notes §0.2: the old answer, with the deleted Payment's Id, and nothing created."""
    customer = Customer()
    customer.DisplayName = "Deleted Then Replayed"
    customer = customer.save(qb=conn.qb)

    def new_payment() -> Payment:
        payment = Payment()
        payment.CustomerRef = customer.to_ref()
        payment.TotalAmt = 25
        payment.Line = []
        return payment

    first = new_payment().save(qb=conn.qb, request_id="pay-then-delete-1")
    assert [p.Id for p in Payment.filter(CustomerRef=customer.Id, qb=conn.qb)] == [first.Id]
    first.delete(qb=conn.qb)
    emu.reset_stats(conn.realm_id)
    again = new_payment().save(qb=conn.qb, request_id="pay-then-delete-1")
    assert again.Id == first.Id and again.SyncToken == "0" and again.TotalAmt == 25
    stats = emu.stats(conn.realm_id)
    assert stats["replays"] == 1 and stats["executed_writes"] == 0
    assert Payment.filter(CustomerRef=customer.Id, qb=conn.qb) == []
    assert Customer.get(customer.Id, qb=conn.qb).Balance == 0
