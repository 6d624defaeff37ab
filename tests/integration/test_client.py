"""QBOClient against the real emulator over HTTP with a real Redis: calls, idempotent retries,
fault mapping, throttling, and the shared budget (which is also tested on Redis alone)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from qbo_sync.client import BatchItem, Budget, QBOClient, sql_string
from qbo_sync.config import Settings
from qbo_sync.errors import ThrottledError, ValidationError
from qbo_sync.mapping import (
    operation_request_id,
    to_qbo_credit_application,
    to_qbo_credit_memo,
    to_qbo_customer,
    to_qbo_invoice,
    to_qbo_item,
    to_qbo_payment,
)
from qbo_sync.source import CustomerRecord, ReceiptRecord, SaleLineRecord, SaleRecord


def customer(n: str, **kw: object) -> CustomerRecord:
    base = CustomerRecord(
        id=n,
        first_name="Ann",
        last_name=f"Lee {n}",
        company_name=None,
        email=f"ann{n}@x.test",
        phone=None,
        alt_phone=None,
        street=None,
        city=None,
        state=None,
        postal_code=None,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def rid(label: str) -> str:
    return operation_request_id("1", label, uuid.uuid4().hex, "create", 1)


def count_named(client: QBOClient, name: str) -> int:
    return client.count("Customer", f"DisplayName = {sql_string(name)}")


# -- calls -----------------------------------------------------------------------------------


def test_create_read_sparse_update_query(client: QBOClient) -> None:
    body = to_qbo_customer(customer("1", company_name="Lee's Widgets")).body
    created = client.create("Customer", body, rid("c"))
    assert created["DisplayName"] == "Ann Lee 1" and created["SyncToken"] == "0"
    read = client.read("Customer", created["Id"])
    assert read["PrimaryEmailAddr"] == {"Address": "ann1@x.test"}
    updated = client.update(
        "Customer",
        {"Id": created["Id"], "SyncToken": read["SyncToken"], "CompanyName": "New Co"},
        rid("u"),
    )
    assert updated["CompanyName"] == "New Co" and updated["SyncToken"] == "1"
    assert updated["GivenName"] == "Ann" and updated["PrimaryEmailAddr"]["Address"] == "ann1@x.test"
    where = f"DisplayName = {sql_string('Ann Lee 1')}"
    rows = list(client.query_all("Customer", where))
    assert [r["Id"] for r in rows] == [created["Id"]]
    assert client.company_info()["CompanyName"] == "Company A"
    assert "SalesFormsPrefs" in client.preferences() or client.preferences()
    assert client.stats.writes == 2 and client.stats.retries == 0


def test_invoice_payment_void_and_delete(client: QBOClient) -> None:
    income = client.query("SELECT * FROM Account WHERE AccountType = 'Income'")[0]["Id"]
    cust = client.create("Customer", to_qbo_customer(customer("2")).body, rid("c"))
    item = client.create("Item", to_qbo_item(f"Widget {uuid.uuid4().hex[:6]}", income), rid("i"))
    sale = SaleRecord(
        "s1",
        f"S-{uuid.uuid4().hex[:8]}",
        "2",
        None,
        date(2026, 3, 1),
        "sold",
        (SaleLineRecord("p", "W", "Widget", Decimal("3"), Decimal("33.33")),),
    )
    invoice = client.create(
        "Invoice", to_qbo_invoice(sale, cust["Id"], {"W": item["Id"]}, None), rid("s")
    )
    assert invoice["TotalAmt"] == Decimal("99.99") and invoice["Balance"] == Decimal("99.99")
    receipt = ReceiptRecord(
        "r1", "R-1", "receipt", "2", "s1", date(2026, 3, 2), None, Decimal("40.00")
    )
    payment = client.create(
        "Payment", to_qbo_payment(receipt, cust["Id"], invoice["Id"], None, None), rid("r")
    )
    assert client.read("Invoice", invoice["Id"])["Balance"] == Decimal("59.99")
    voided = client.void("Payment", payment["Id"], payment["SyncToken"], rid("vp"))
    assert voided["TotalAmt"] == 0 or voided.get("PrivateNote", "").startswith("Voided")
    assert client.read("Invoice", invoice["Id"])["Balance"] == Decimal("99.99")
    current = client.read("Invoice", invoice["Id"])
    voided_inv = client.void("Invoice", current["Id"], current["SyncToken"], rid("vi"))
    assert voided_inv["Balance"] == 0
    fresh = client.create(
        "Invoice",
        to_qbo_invoice(
            replace(sale, number=sale.number + "b"), cust["Id"], {"W": item["Id"]}, None
        ),
        rid("s"),
    )
    deleted = client.delete("Invoice", fresh["Id"], fresh["SyncToken"], rid("d"))
    assert deleted["status"] == "Deleted"


def test_adjustments_change_the_invoice_balance_exactly(client: QBOClient) -> None:
    income = client.query("SELECT * FROM Account WHERE AccountType = 'Income'")[0]["Id"]
    cust = client.create("Customer", to_qbo_customer(customer("30")).body, rid("c"))
    item = client.create("Item", to_qbo_item(f"Thing {uuid.uuid4().hex[:6]}", income), rid("i"))
    adj_item = client.create("Item", to_qbo_item(f"Adj {uuid.uuid4().hex[:6]}", income), rid("i"))
    sale = SaleRecord(
        "s30",
        f"S-{uuid.uuid4().hex[:8]}",
        "30",
        None,
        date(2026, 3, 1),
        "sold",
        (SaleLineRecord("p", "T", None, Decimal("3"), Decimal("33.33")),),
    )
    raise_ = ReceiptRecord(
        "a1", "ADJ-1", "adjustment", "30", "s30", date(2026, 3, 3), None, Decimal("-5.01")
    )
    invoice = client.create(
        "Invoice",
        to_qbo_invoice(
            sale,
            cust["Id"],
            {"T": item["Id"]},
            None,
            increases=[raise_],
            adjustment_item_id=adj_item["Id"],
        ),
        rid("s"),
    )
    assert invoice["Balance"] == Decimal("105.00")  # 99.99 + 5.01
    reduce = ReceiptRecord(
        "a2",
        f"A-{uuid.uuid4().hex[:6]}",
        "adjustment",
        "30",
        "s30",
        date(2026, 3, 4),
        None,
        Decimal("10.50"),
    )
    memo = client.create(
        "CreditMemo", to_qbo_credit_memo(reduce, cust["Id"], adj_item["Id"]), rid("m")
    )
    applied = client.create(
        "Payment",
        to_qbo_credit_application(reduce, cust["Id"], invoice["Id"], memo["Id"]),
        rid("p"),
    )
    assert applied["TotalAmt"] == 0
    assert client.read("Invoice", invoice["Id"])["Balance"] == Decimal("94.50")
    assert client.read("CreditMemo", memo["Id"])["RemainingCredit"] == 0
    assert client.read("Customer", cust["Id"])["Balance"] == Decimal("94.50")


def test_query_all_pages(client: QBOClient) -> None:
    everything = client.query("SELECT * FROM PaymentMethod MAXRESULTS 1000")
    paged = list(client.query_all("PaymentMethod", page_size=4))
    assert len(everything) >= 6
    assert [r["Id"] for r in paged] == [r["Id"] for r in everything]
    assert client.stats.reads == 1 + len(everything) // 4 + 1
    assert [r["Name"] for r in client.query_all("PaymentMethod", "Name = 'Visa'")] == ["Visa"]


def test_batch_replayed_after_a_lost_response(fresh_emu, client, connected) -> None:
    items = [
        BatchItem(f"b{n}", "Customer", "create", to_qbo_customer(customer(f"2{n}")).body)
        for n in range(3)
    ]
    fresh_emu.inject(connected.realm_id, "lose_response_after_write")
    results = client.batch(items, rid("batch"))
    assert all(r.ok for r in results) and client.stats.retries == 1
    for n in range(3):
        assert count_named(client, f"Ann Lee 2{n}") == 1
    stats = fresh_emu.stats(connected.realm_id)
    assert stats["replays"] == 1 and stats["dropped"] == 1


def test_batch_with_a_fault_and_its_replay(client: QBOClient) -> None:
    client.create("Customer", to_qbo_customer(customer("3")).body, rid("c"))
    items = [
        BatchItem("b1", "Customer", "create", to_qbo_customer(customer("4")).body),
        BatchItem("b2", "Customer", "create", to_qbo_customer(customer("3")).body),  # clash
        BatchItem("b3", "Customer", "create", to_qbo_customer(customer("5")).body),
    ]
    batch_id = rid("batch")
    results = {r.bId: r for r in client.batch(items, batch_id)}
    assert results["b1"].ok and results["b1"].entity["DisplayName"] == "Ann Lee 4"
    assert results["b3"].ok and results["b3"].entity["Id"]
    error = results["b2"].error
    assert isinstance(error, ValidationError) and error.code == "6240"
    assert error.request_id == batch_id
    again = {r.bId: r for r in client.batch(items, batch_id)}  # same requestid: a replay
    assert again["b1"].entity["Id"] == results["b1"].entity["Id"]
    assert count_named(client, "Ann Lee 4") == 1 and count_named(client, "Ann Lee 5") == 1
    assert client.stats.batches == 2


# -- faults and retries ------------------------------------------------------------------------


def test_validation_error_is_not_retried_and_carries_facts(client: QBOClient) -> None:
    client.create("Customer", to_qbo_customer(customer("6")).body, rid("c"))
    before = client.stats.requests
    send_id = rid("c")
    with pytest.raises(ValidationError) as info:
        client.create("Customer", to_qbo_customer(customer("6")).body, send_id)
    error = info.value
    assert error.code == "6240" and error.status == 400 and error.faults[0].message
    assert error.element == "DisplayName" or error.element == ""
    assert error.intuit_tid and error.request_id == send_id
    assert client.stats.requests == before + 1 and client.stats.retries == 0


def test_lost_response_after_write_is_replayed_once(fresh_emu, client, connected) -> None:
    fresh_emu.inject(connected.realm_id, "lose_response_after_write", entity="Customer")
    created = client.create("Customer", to_qbo_customer(customer("7")).body, rid("c"))
    assert created["DisplayName"] == "Ann Lee 7"
    assert client.stats.retries == 1
    assert count_named(client, "Ann Lee 7") == 1
    stats = fresh_emu.stats(connected.realm_id)
    assert stats["executed_writes"] == 1 and stats["replays"] == 1


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "maintenance", "drop_before_write"])
def test_server_errors_and_drops_are_retried(fresh_emu, client, connected, kind: str) -> None:
    fresh_emu.inject(connected.realm_id, kind, count=2, entity="Customer")
    created = client.create("Customer", to_qbo_customer(customer(f"8{kind}")).body, rid("c"))
    assert created["Id"] and client.stats.retries == 2
    assert count_named(client, created["DisplayName"]) == 1


def test_slow_reply_times_out_and_is_retried(fresh_emu, connected, client_for) -> None:
    client = client_for(connected, http_timeout=0.5)
    fresh_emu.inject(connected.realm_id, "slow", entity="Customer", seconds=2)
    created = client.create("Customer", to_qbo_customer(customer("9")).body, rid("c"))
    assert created["Id"] and client.stats.retries == 1
    time.sleep(2)  # let the slow first attempt finish, then prove there is one customer
    assert count_named(client, "Ann Lee 9") == 1


def test_429_pauses_the_company_for_every_worker(fresh_emu, connected, client_for) -> None:
    """A 429 seen by one worker holds every worker of that company until the pause ends."""
    first, second = client_for(connected, throttle_pause=1.5), client_for(connected)
    fresh_emu.inject(connected.realm_id, "429", entity="Customer")
    result: dict[str, object] = {}
    start = time.monotonic()
    thread = threading.Thread(
        target=lambda: result.update(
            created=first.create("Customer", to_qbo_customer(customer("10")).body, rid("c"))
        )
    )
    thread.start()
    while second.budget.paused_for(connected.realm_id) == 0.0:  # the pause reaches Redis
        assert time.monotonic() - start < 5
        time.sleep(0.01)
    second.company_info()  # another worker (own Budget object) waits out the pause too
    held = time.monotonic() - start
    thread.join(10)
    assert held >= 1.3
    assert result["created"]["Id"]  # type: ignore[index]
    assert first.stats.throttled == 1 and first.stats.retries == 1
    assert first.budget.stats.pauses == 1 and second.stats.throttled == 0
    assert fresh_emu.stats(connected.realm_id)["by_status"].get("429") == 1
    assert count_named(first, "Ann Lee 10") == 1


def test_429_storm_gives_up_after_max_retries(fresh_emu, connected, client_for) -> None:
    client = client_for(connected, max_retries=1, throttle_pause=0.2)
    fresh_emu.inject(connected.realm_id, "429", count=5, entity="Customer")
    with pytest.raises(ThrottledError) as info:
        client.create("Customer", to_qbo_customer(customer("11")).body, rid("c"))
    assert info.value.status == 429 and info.value.code == "3001"
    assert info.value.retry_after == 0.2 and client.stats.throttled == 2


# -- the shared budget -------------------------------------------------------------------------


def budget_settings(**kw: object) -> Settings:
    return replace(Settings(), **kw)  # type: ignore[arg-type]


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def run_threads(n: int, fn) -> None:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_budget_per_second_across_workers(redis_conn, key_prefix) -> None:
    settings = budget_settings(rate_per_second=5, max_in_flight=3)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker(_: int) -> None:
        budget = Budget(redis_conn, settings, key_prefix=key_prefix)  # one per "machine"
        for _ in range(6):
            lease = budget.acquire("R1")
            with lock:
                stamps.append(time.monotonic())
            budget.release(lease)

    run_threads(4, worker)
    assert len(stamps) == 24 and max_in_window(stamps, 1.0) <= 5
    rate = (len(stamps) - 5) / (max(stamps) - min(stamps))
    # Not a speed target (the benchmark measures how full the budget is kept): a budget that
    # serialises workers or over-waits would fall far below half the ceiling.
    assert rate >= 0.5 * 5


def test_budget_in_flight_and_lease_expiry(redis_conn, key_prefix) -> None:
    budget = Budget(
        redis_conn, budget_settings(max_in_flight=2), key_prefix=key_prefix, lease_ttl=0.4
    )
    active = peak = 0
    lock = threading.Lock()

    def worker(_: int) -> None:
        nonlocal active, peak
        for _ in range(3):
            lease = budget.acquire("R2")
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1
            budget.release(lease)

    run_threads(5, worker)
    assert peak == 2
    budget.acquire("R3")
    budget.acquire("R3")  # two leases never released, as by a killed worker
    start = time.monotonic()
    budget.acquire("R3")
    assert 0.3 <= time.monotonic() - start < 2.0


def test_budget_batch_per_minute_and_pause(redis_conn, key_prefix) -> None:
    settings = budget_settings(batch_per_minute=3)
    budget = Budget(redis_conn, settings, key_prefix=key_prefix, time_scale=60, margin=0.01)
    start = time.monotonic()
    for _ in range(4):
        budget.release(budget.acquire("R4", is_batch=True))
    assert time.monotonic() - start >= 1.0  # the 4th batch waited for the (scaled) minute
    budget.release(budget.acquire("R4"))  # plain calls are not held by the batch limit
    other = Budget(redis_conn, settings, key_prefix=key_prefix)
    other.pause("R4", 0.6)
    other.pause("R4", 0.1)  # a shorter pause never shortens a longer one
    start = time.monotonic()
    budget.release(budget.acquire("R4"))
    assert time.monotonic() - start >= 0.5


def test_workers_stay_under_the_emulators_limit(own_emulator, client_for) -> None:
    """Six workers on one company, budget at QBO's real 10/s: no 429, and the budget is used."""
    emu, conn = own_emulator()
    stamps: list[float] = []
    lock = threading.Lock()
    clients: list[QBOClient] = []

    def worker(_: int) -> None:
        client = client_for(conn)  # its own Budget object: only Redis is shared
        clients.append(client)
        for _ in range(10):
            client.query("SELECT * FROM Item MAXRESULTS 5")
            with lock:
                stamps.append(time.monotonic())

    run_threads(6, worker)
    stats = emu.stats(conn.realm_id)
    assert stats["throttled"] == 0 and sum(c.stats.throttled for c in clients) == 0
    assert stats["requests"] == 60
    rate = (len(stamps) - 10) / (max(stamps) - min(stamps))
    # As above: a sanity floor, not the 0.9 target, which the benchmark measures unloaded.
    assert rate >= 0.5 * conn.settings.rate_per_second, rate
