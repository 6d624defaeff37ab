"""Engine fixtures: a seeded CRM, profiles connected to the emulator's companies, a worker,
and an independent reader of what landed in QuickBooks (plain HTTP, not the plugin's client)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue
from qbo_sync.models import SyncProfile
from qbo_sync.profiles import complete_connection, get_or_create_profile, parse_redirect
from rq import SimpleWorker

from crm.models import db
from crm.seed import seed
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

TODAY = date(2026, 11, 26)


@dataclass
class Books:
    """Reads one emulated company over HTTP with its own OAuth connection."""

    emu: EmulatorProcess
    realm: str
    token: str

    def query(self, sql: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 1
        while True:
            self.emu.reset_throttle()  # reading the books is not part of the run's budget
            resp = requests.get(
                f"{self.emu.base_url}/v3/company/{self.realm}/query",
                params={
                    "query": f"{sql} STARTPOSITION {start} MAXRESULTS 1000",
                    "minorversion": "75",
                },
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                timeout=30,
            )
            resp.raise_for_status()
            body = resp.json()["QueryResponse"]
            rows = next((v for k, v in body.items() if isinstance(v, list)), [])
            out += rows
            if len(rows) < 1000:
                return out
            start += 1000

    def all(self, entity: str) -> list[dict[str, Any]]:
        where = " WHERE Active IN (true, false)" if entity in ("Customer", "Item") else ""
        return self.query(f"SELECT * FROM {entity}{where}")  # noqa: S608 - entity names only

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """What someone else (the bookkeeper) entered in QuickBooks by hand."""
        self.emu.reset_throttle()
        resp = requests.post(
            f"{self.emu.base_url}/v3/company/{self.realm}/{entity.lower()}",
            params={"minorversion": "75"},
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        resp.raise_for_status()
        return dict(resp.json()[entity])

    def writes(self) -> int:
        return int(self.emu.stats(self.realm).get("writes", 0))


def books(emu: EmulatorProcess, company: str) -> Books:
    """A reader of the company's books; faults still queued for the run are dropped first."""
    realm = emu.realm_ids[company]
    emu.clear_faults(realm)
    params = parse_redirect(emu.authorize(CLIENT_ID, REDIRECT_URI, "reader", company=company))
    token = requests.post(
        f"{emu.base_url}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        headers={"Accept": "application/json"},
        timeout=10,
    ).json()["access_token"]
    return Books(emu, realm, token)


def connect(emu: EmulatorProcess, segment: str | None, company: str) -> SyncProfile:
    profile = get_or_create_profile(db.session, segment)
    params = parse_redirect(emu.authorize(CLIENT_ID, REDIRECT_URI, "s", company=company))
    return complete_connection(
        db.session, profile, params["code"], params["realmId"], allow_other_company=True
    )


def worker_env(app: Flask, emulator_port: int, **settings: str) -> dict[str, str]:
    """The environment of a separate worker process (`flask qbo worker`) on this app's stores
    and emulator; `settings` are QBO_SYNC_* overrides (``batch_size="5"``)."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "QBO_SYNC_TOKEN_KEY": app.config["QBO_SYNC_TOKEN_KEY"],
        "QBO_SYNC_ENVIRONMENT": "emulator",
        "QBO_SYNC_EMULATOR_URL": f"http://127.0.0.1:{emulator_port}",
        "QBO_SYNC_CLIENT_ID": CLIENT_ID,
        "QBO_SYNC_CLIENT_SECRET": CLIENT_SECRET,
        "QBO_SYNC_REDIRECT_URI": REDIRECT_URI,
        "QBO_SYNC_QUEUE": app.config["QBO_SYNC_QUEUE"],
        **{f"QBO_SYNC_{k.upper()}": v for k, v in settings.items()},
    }


def work() -> None:
    """Run every queued job in this process (an RQ SimpleWorker in burst mode)."""
    q = queue()
    SimpleWorker([q], connection=q.connection).work(burst=True)


@pytest.fixture
def crm(app_ctx: Flask) -> Flask:
    seed(customers=40, seed_value=11, today=TODAY)
    queue().empty()
    return app_ctx


def voided(doc: dict[str, Any]) -> bool:
    """QuickBooks keeps a voided transaction, zeroed, with the note "Voided"."""
    return doc.get("PrivateNote") == "Voided"


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
