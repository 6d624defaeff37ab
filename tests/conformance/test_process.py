"""The command line: demo client, stable realms per database, clean stop, shared state."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from click.testing import CliRunner
from qbo_emulator.cli import emulator_command
from qbo_emulator.testing import EmulatorProcess, free_port

if TYPE_CHECKING:
    from conftest import Kit

pytestmark = pytest.mark.conformance


def test_command_object_needs_no_app_context() -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--db",
        "--client",
        "--latency-ms",
        "--time-scale",
        "--control",
    ):
        assert option in result.output


def test_demo_client_printed_and_sigint_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qbo_emulator", "--port", str(port), "--db", str(tmp_path / "d.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        assert process.stdout is not None
        while not any("listening on" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        output = "".join(lines)
        assert "demo client id: " in output and "demo client secret: " in output
        assert "demo redirect URI: http://127.0.0.1:5000/admin/qbo/callback" in output
        assert f"http://127.0.0.1:{port}" in output
        assert (
            requests.get(f"http://127.0.0.1:{port}/_emulator/stats", timeout=5).status_code == 404
        )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_realms_and_data_survive_restarts(kit: type[Kit], tmp_path: Path) -> None:
    with kit.start_emulator(tmp_path) as first:
        realms = dict(first.realm_ids)
        link = kit.connect(first)
        link.raw("POST", "customer", json={"DisplayName": "Persistent Co"})
    with kit.start_emulator(tmp_path) as second:
        assert second.realm_ids == realms
        link = kit.connect(second)
        found = link.raw("GET", "query", params={"query": "select * from Customer"}).json()
        assert [c["DisplayName"] for c in found["QueryResponse"]["Customer"]] == ["Persistent Co"]


def test_a_file_of_an_earlier_version_keeps_its_names_and_numbers_unique(
    kit: type[Kit], tmp_path: Path
) -> None:
    """Uniqueness is an indexed key per entity now; a file written before that is given the
    keys of what it holds when the emulator opens it."""
    with kit.start_emulator(tmp_path) as first:
        link = kit.connect(first)
        customer = link.raw("POST", "customer", json={"DisplayName": "Old  Timer"}).json()
        body = {
            "CustomerRef": {"value": customer["Customer"]["Id"]},
            "DocNumber": "INV-7",
            "Line": [
                {
                    "Amount": 10,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        }
        assert link.raw("POST", "invoice", json=body).status_code == 200
    with sqlite3.connect(tmp_path / "emu.db") as db:  # as an earlier version left it
        db.execute("DROP INDEX entities_lookup")
        db.execute("ALTER TABLE entities DROP COLUMN lookup")
    db.close()
    with kit.start_emulator(tmp_path) as second:
        link = kit.connect(second)
        name = link.raw("POST", "customer", json={"DisplayName": "old timer"})
        assert name.status_code == 400 and "6240" in name.text
        number = link.raw("POST", "invoice", json={**body, "DocNumber": "inv-7"})
        assert number.status_code == 400 and "6140" in number.text
        assert link.raw("POST", "customer", json={"DisplayName": "New Timer"}).status_code == 200


def test_two_servers_share_one_database(kit: type[Kit], tmp_path: Path) -> None:
    with (
        kit.start_emulator(tmp_path) as one,
        EmulatorProcess(db_path=tmp_path / "emu.db", clients=[kit.CLIENT], control=True) as two,
    ):
        link_one = kit.connect(one)
        link_two = kit.connect(two)
        made = link_one.raw("POST", "customer", json={"DisplayName": "Seen Twice"}).json()
        seen = link_two.raw("GET", f"customer/{made['Customer']['Id']}").json()
        assert seen["Customer"]["DisplayName"] == "Seen Twice"
        clash = link_two.raw("POST", "customer", json={"DisplayName": "Seen Twice"})
        assert clash.json()["Fault"]["Error"][0]["code"] == "6240"
