"""Hostile-input fixtures: one CRM full of hostile records next to ordinary ones (records.py),
synced once for the whole package into an emulated company, then read back by the independent
reader of tests/engine.

Package-scoped on purpose (the tests/hostile budget is 45 s a pass): every fixed case is a few
rows of this one CRM, and the tests assert on its one run (and the second, which writes nothing).
The CRM's form tests live in tests/test_crm_forms.py: their per-test emptying of the database
would wipe this one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.jobs import queue, start_sync

from crm.models import db
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, _all_tables
from tests.engine.books import writes_of_next_run
from tests.engine.conftest import books, connect, work
from tests.hostile.records import CLOSED, HTML_CLASH, QUOTED_NUMBER, build
from tests.hostile.shop import Shop, World


@pytest.fixture(scope="package")
def hostile_emulator(
    emulator_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorProcess]:
    """One emulator for the package, on the port the app's settings name."""
    with EmulatorProcess(
        db_path=tmp_path_factory.mktemp("emu") / "emu.db",
        clients=[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)],
        control=True,
        port=emulator_port,
    ) as emu:
        yield emu


@pytest.fixture(scope="package")
def hostile_ctx(app: Flask) -> Iterator[Flask]:
    """An app context over an empty database for the whole package, emptied afterwards."""
    with app.app_context():
        queue().empty()
        yield app
        queue().empty()
        db.session.rollback()
        for table in _all_tables():
            db.session.execute(table.delete())
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="package")
def world(hostile_ctx: Flask, hostile_emulator: EmulatorProcess) -> World:
    """The hostile CRM pushed once to Company A (books closed on CLOSED), and a second run."""
    emu = hostile_emulator
    shop = Shop()
    build(shop)
    db.session.commit()
    profile = connect(emu, "Roofing", "Company A")
    qbo = books(emu, "Company A")
    emu.set_company(qbo.realm, book_close_date=CLOSED)
    # What the bookkeeper has in QuickBooks already: a customer whose name has a quote and a
    # backslash (the query language's escapes), one named like markup, and an invoice whose number
    # has both (the number clash is looked up by a query).
    qbo.create("Customer", {"DisplayName": "Pat O'Neil \\ Sons"})
    qbo.create("Customer", {"DisplayName": HTML_CLASH})
    theirs = qbo.create("Customer", {"DisplayName": "Quinn Query"})
    item = qbo.all("Item")[0]
    line = {"DetailType": "SalesItemLineDetail", "Amount": 5}
    line["SalesItemLineDetail"] = {"ItemRef": {"value": item["Id"]}}
    qbo.create(
        "Invoice",
        {"DocNumber": QUOTED_NUMBER, "CustomerRef": {"value": theirs["Id"]}, "Line": [line]},
    )
    start_sync(profile)
    work()
    world = World(emu, profile, qbo, shop)
    world.second_run_writes = writes_of_next_run(emu, "Company A", profile)
    return world
