"""Throttling exactly as the notes give it; minute windows sped up with --time-scale 5."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from qbo_emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from conftest import Connected, Kit

pytestmark = [pytest.mark.conformance, pytest.mark.slow]
SCALE = 5.0
APPS = [(f"app-{n}", f"secret-{n}", "http://127.0.0.1:5000/admin/qbo/callback") for n in range(6)]


@pytest.fixture(scope="module")
def emu(kit: type[Kit], tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with kit.start_emulator(
        tmp_path_factory.mktemp("throttle"), time_scale=SCALE, clients=APPS
    ) as e:
        yield e


@pytest.fixture(scope="module")
def links(kit: type[Kit], emu: EmulatorProcess) -> list[Connected]:
    return [kit.connect(emu, "Company A", client=app) for app in APPS]


@pytest.fixture(scope="module")
def link_b(kit: type[Kit], emu: EmulatorProcess) -> Connected:
    return kit.connect(emu, "Company B", client=APPS[0])


def read(link: Connected, session: requests.Session | None = None) -> requests.Response:
    http = session or requests
    return http.get(
        link.url("query"),
        params={"query": "select * from PaymentMethod", "minorversion": "75"},
        headers={"Authorization": f"Bearer {link.auth.access_token}", "Accept": "application/json"},
        timeout=30,
    )


def assert_throttle_body(answer: requests.Response) -> None:
    assert answer.status_code == 429
    fault = answer.json()["Fault"]
    assert fault["type"] == "SERVICE"
    assert fault["Error"][0]["code"] == "3001"
    assert (
        fault["Error"][0]["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    )


def test_ten_per_second_per_company_and_app(kit: type[Kit], tmp_path: Path) -> None:
    with kit.start_emulator(tmp_path, time_scale=1.0) as real_time:
        link = kit.connect(real_time, "Company B")
        with requests.Session() as session:
            started = time.monotonic()
            statuses = [read(link, session).status_code for _ in range(12)]
            assert time.monotonic() - started < 1.0, "machine too slow for a 1 s window"
            assert statuses[:10] == [200] * 10
            assert statuses[10:] == [429, 429]
            assert_throttle_body(read(link, session))
            time.sleep(1.05)
            assert read(link, session).status_code == 200
        assert real_time.stats(link.realm_id)["throttled"] == 3


def test_forty_batches_per_minute_per_company_and_app(link_b: Connected) -> None:
    time.sleep(0.25)
    batch = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Item"}]}
    statuses = []
    with requests.Session() as session:
        for _ in range(41):
            answer = session.post(
                link_b.url("batch"),
                params={"minorversion": "75"},
                json=batch,
                headers={"Authorization": f"Bearer {link_b.auth.access_token}"},
                timeout=30,
            )
            statuses.append(answer.status_code)
            time.sleep(0.025)
        assert statuses[:40] == [200] * 40 and statuses[40] == 429
        assert read(link_b, session).status_code == 200, "plain requests are not batch-limited"


def test_five_hundred_per_minute_per_company(links: list[Connected]) -> None:
    statuses = []
    with requests.Session() as session:
        for n in range(501):
            statuses.append(read(links[n % len(links)], session).status_code)
            time.sleep(0.004)
    assert statuses[:500] == [200] * 500
    assert statuses[500] == 429
    assert_throttle_body(read(links[3]))


def test_at_most_ten_concurrent_requests(emu: EmulatorProcess, link_b: Connected) -> None:
    time.sleep(0.25)
    emu.inject(link_b.realm_id, "slow", count=12, seconds=1.0)
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        status = read(link_b).status_code
        with lock:
            results.append(status)

    threads = []
    for _ in range(12):
        thread = threading.Thread(target=worker)
        thread.start()
        threads.append(thread)
        time.sleep(0.04)
    for thread in threads:
        thread.join()
    emu.clear_faults(link_b.realm_id)
    assert sorted(results) == [200] * 10 + [429, 429]
