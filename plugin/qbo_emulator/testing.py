"""EmulatorProcess: run the emulator as a real subprocess on a free port, for tests and dev."""

from __future__ import annotations

import html
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
UNCHANGED: Any = object()  # `set_company(book_close_date=...)` default: leave the date as it is


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmulatorProcess:
    """`with EmulatorProcess(db_path=..., clients=[(id, secret, redirect)]) as emu:`."""

    def __init__(
        self,
        db_path: str | Path,
        clients: Iterable[tuple[str, str, str]] = (),
        control: bool = True,
        time_scale: float = 1.0,
        latency_ms: float = 0,
        port: int | None = None,
        startup_timeout: float = 20.0,
        limits: bool = True,
        companies: int = 2,
    ) -> None:
        self.db_path = Path(db_path)
        self.clients = list(clients)
        self.control = control
        self.time_scale = time_scale
        self.latency_ms = latency_ms
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.limits = limits
        self.companies = companies
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.base_url}/.well-known/openid_configuration"
        self.log_path = self.db_path.with_name(self.db_path.name + f".{self.port}.log")
        self.realm_ids: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "qbo_emulator", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--db", str(self.db_path)]
        cmd += ["--time-scale", str(self.time_scale), "--latency-ms", str(self.latency_ms)]
        for client_id, secret, redirect_uri in self.clients:
            cmd += ["--client", f"{client_id}:{secret}:{redirect_uri}"]
        if self.control:
            cmd.append("--control")
        if not self.limits:
            cmd.append("--no-limits")
        if self.companies != 2:
            cmd += ["--companies", str(self.companies)]
        return cmd

    def start(self) -> EmulatorProcess:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited early; see {self.log_path}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator did not answer in time; see {self.log_path}")
            time.sleep(0.05)
        self.realm_ids = self._read_realms()
        return self

    def _read_realms(self) -> dict[str, str]:
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            rows = conn.execute("SELECT name, realm_id FROM realms ORDER BY position").fetchall()
        finally:
            conn.close()
        return {str(name): str(realm) for name, realm in rows}

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.http.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def authorize(
        self,
        client_id: str,
        redirect_uri: str,
        state: str,
        company: str = "Company A",
        scope: str = ACCOUNTING_SCOPE,
        action: str = "authorize",
    ) -> str:
        """Drive the consent page like a browser; return the redirect URL it sends back."""
        params = {
            "client_id": client_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        page = self.http.get(f"{self.base_url}/connect/oauth2", params=params, timeout=10)
        page.raise_for_status()
        form: dict[str, str] = {}
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text
        ):
            form[html.unescape(name)] = html.unescape(value)
        form["realmId"] = self._offered_realm(page.text, company)
        form["action"] = action
        answer = self.http.post(
            f"{self.base_url}/connect/oauth2", data=form, allow_redirects=False, timeout=10
        )
        if answer.status_code != 302:
            raise RuntimeError(f"consent page answered {answer.status_code}: {answer.text[:200]}")
        return str(answer.headers["Location"])

    def _offered_realm(self, page: str, company: str) -> str:
        """The realm id of `company` (its seeded name, or the CompanyName the consent page
        shows) among the choices of the consent page."""
        offered = re.findall(
            r'<label><input type="radio" name="realmId" value="([^"]+)"[^>]*>\s*([^<]*)</label>',
            page,
        )
        for realm_id, label in offered:
            if self.realm_ids.get(company) == realm_id or html.unescape(label.strip()) == company:
                return str(realm_id)
        raise ValueError(f"company {company!r} is not offered on the consent page")

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(
            method, f"{self.base_url}/_emulator/{path}", timeout=10, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def stats(self, realm_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "stats", params={"realmId": realm_id})
        return result

    def entity_counts(self, realm_id: str) -> dict[str, int]:
        """Live entities of the company per kind (Customer, Invoice, ...)."""
        result: dict[str, int] = self._control("GET", "entities", params={"realmId": realm_id})
        return result

    def reset_stats(self, realm_id: str) -> None:
        self._control("POST", "stats/reset", json={"realmId": realm_id})

    def inject(
        self,
        realm_id: str,
        kind: str,
        count: int = 1,
        entity: str | None = None,
        seconds: float | None = None,
    ) -> None:
        body: dict[str, Any] = {"realmId": realm_id, "kind": kind, "count": count}
        if entity is not None:
            body["entity"] = entity
        if seconds is not None:
            body["seconds"] = seconds
        self._control("POST", "faults", json=body)

    def pending_faults(self, realm_id: str) -> list[dict[str, Any]]:
        """Faults injected and not yet met: kind, remaining, entity, seconds."""
        result: list[dict[str, Any]] = self._control("GET", "faults", params={"realmId": realm_id})[
            "pending"
        ]
        return result

    def clear_faults(self, realm_id: str) -> None:
        self._control("DELETE", "faults", params={"realmId": realm_id})

    def expire_tokens(self, refresh_tokens: bool = False) -> None:
        self._control("POST", "expire-tokens", json={"refresh_tokens": refresh_tokens})

    def reset_throttle(self) -> None:
        self._control("POST", "throttle/reset", json={})

    def set_company(
        self,
        realm_id: str,
        *,
        automated_sales_tax: bool | None = None,
        book_close_date: str | None | object = UNCHANGED,
        ast_rate: str | None = None,
    ) -> dict[str, Any]:
        """Change a company's settings (None leaves a setting; `book_close_date=None` clears)."""
        body: dict[str, Any] = {"realmId": realm_id}
        if automated_sales_tax is not None:
            body["automated_sales_tax"] = automated_sales_tax
        if book_close_date is not UNCHANGED:
            body["book_close_date"] = book_close_date
        if ast_rate is not None:
            body["ast_rate"] = ast_rate
        result: dict[str, Any] = self._control("POST", "company", json=body)
        return result

    def company_settings(self, realm_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "company", params={"realmId": realm_id})
        return result

    def deactivate(self, realm_id: str, entity: str, id: str) -> dict[str, Any]:  # noqa: A002
        """Set Active false on a Customer or Item (any name list) as if done in QuickBooks."""
        body = {"realmId": realm_id, "entity": entity, "Id": id}
        result: dict[str, Any] = self._control("POST", "deactivate", json=body)
        return result
