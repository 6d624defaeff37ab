"""node-quickbooks (npm) drives the QBO emulator: a second client, independent of Python.

The Node side lives in tests/conformance/node: node-quickbooks and intuit-oauth from npm,
unmodified apart from base URLs, run with `node --test`. This module installs the npm packages
when needed (`npm ci`), starts an EmulatorProcess, hands the Node tests what they need through
environment variables and fails with Node's whole output when any Node test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

NODE = shutil.which("node")
if NODE is None:
    pytest.skip(
        "Node.js not found: the node-quickbooks conformance tests are left out",
        allow_module_level=True,
    )

from qbo_emulator.testing import EmulatorProcess  # noqa: E402

pytestmark = pytest.mark.conformance

NODE_DIR = Path(__file__).parent / "node"
CLIENT_ID = "node-conformance-client"
CLIENT_SECRET = "node-conformance-secret"
# three more apps, for the per-company (not per-app) batch limit
EXTRA_CLIENTS = [(f"node-conformance-app{i}", f"node-conformance-secret{i}") for i in (2, 3, 4)]
REDIRECT_URI = "http://127.0.0.1:5000/admin/qbo/callback"
# Emulator clock K times faster: the one-second throttle window lasts 1/K s and the per-minute
# batch windows 60/K s, so 41 (or 121) paced batch requests reach the batch limits within their
# window in about two seconds; ordinary Node tests pace themselves to 6 requests per emulated
# second, below the 10 per second limit, so only the throttling tests meet a 429.
TIME_SCALE = 5.0
NODE_TIMEOUT_S = 150


def _needs_install() -> bool:
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    return not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime


def _npm_ci() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: cannot install node-quickbooks for the conformance tests")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed in {NODE_DIR}:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def node_modules() -> None:
    if _needs_install():
        _npm_ci()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    db_path = tmp_path_factory.mktemp("node-qbo") / "emu.db"
    with EmulatorProcess(
        db_path=db_path,
        clients=[
            (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI),
            *((cid, secret, REDIRECT_URI) for cid, secret in EXTRA_CLIENTS),
        ],
        control=True,
        time_scale=TIME_SCALE,
        latency_ms=0,
    ) as emu:
        yield emu


def _token_pair(emu: EmulatorProcess, company: str) -> dict[str, str]:
    """The code flow done from Python, so Node can show that the tokens are interchangeable."""
    state = uuid.uuid4().hex
    location = emu.authorize(CLIENT_ID, REDIRECT_URI, state, company=company)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    discovery = requests.get(emu.discovery_url, timeout=10).json()
    response = requests.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def _summary(output: str) -> str:
    counts = dict(
        re.findall(r"^[ℹ#] (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)
    )
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "no summary"


@pytest.mark.slow
def test_node_quickbooks_conformance(node_modules: None, emulator: EmulatorProcess) -> None:
    assert NODE is not None
    realms = emulator.realm_ids
    assert {"Company A", "Company B"} <= set(realms), realms
    tokens = _token_pair(emulator, "Company A")
    env = {
        **os.environ,
        "QBO_EMULATOR_URL": emulator.base_url,
        "QBO_DISCOVERY_URL": emulator.discovery_url,
        "QBO_REALM_A": realms["Company A"],
        "QBO_REALM_B": realms["Company B"],
        "QBO_CLIENT_ID": CLIENT_ID,
        "QBO_CLIENT_SECRET": CLIENT_SECRET,
        "QBO_REDIRECT_URI": REDIRECT_URI,
        "QBO_EXTRA_CLIENTS": ",".join(f"{cid}:{secret}" for cid, secret in EXTRA_CLIENTS),
        "QBO_ACCESS_TOKEN": tokens["access_token"],
        "QBO_REFRESH_TOKEN": tokens["refresh_token"],
        "QBO_TIME_SCALE": str(TIME_SCALE),
        "QBO_RUN_ID": uuid.uuid4().hex[:6],
        "NODE_ENV": "test",
        "NO_COLOR": "1",
    }
    files = sorted(p.name for p in NODE_DIR.glob("*.test.mjs"))
    assert files, f"no Node tests in {NODE_DIR}"
    command = [
        NODE,
        "--test",
        "--test-concurrency=1",
        "--test-reporter=spec",
        "--test-timeout=60000",
        *files,
    ]
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"node --test did not finish within {NODE_TIMEOUT_S} s:\n{out}")
    elapsed = time.monotonic() - started
    output = f"{result.stdout}\n{result.stderr}".strip()
    print(f"node --test: {_summary(output)}; {elapsed:.1f} s")
    if result.returncode != 0:
        pytest.fail(
            f"node-quickbooks conformance failed ({_summary(output)}; {elapsed:.1f} s; "
            f"emulator log {emulator.log_path}):\n{output}",
            pytrace=False,
        )
