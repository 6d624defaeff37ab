"""The migration to companies and documents (e2e0f46931b0) on a database that holds data.

Each test makes its own database (a SQLite file; on PostgreSQL, when TEST_DATABASE_URL is set, a
scratch database next to the session's), migrates it to the previous head, fills it with data of
the old shape (plain SQL), migrates it to the head and checks what a user would check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import downgrade, upgrade
from qbo_sync.models import Base as PluginBase

from crm.models import db

PREVIOUS_HEAD = "58f8a5202de2"
TOKEN_KEY = "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE="
FERNET = Fernet(TOKEN_KEY)
R1, R2, R0 = "9130350000000001", "9130350000000002", "9130350000000000"  # R0: an older realm
CRM_ROWS = {  # what fill_old_shape puts in each CRM table with an integer id
    "user_account": 1,
    "market_segment": 1,
    "customer": 2,
    "product": 1,
    "sale": 3,
    "sale_line": 3,
    "receipt": 6,
}
T = "2026-01-01 08:00:00.000000"


def token(text: str) -> str:
    return FERNET.encrypt(text.encode()).decode()


TOKENS = {p: (token(f"access-{p}"), token(f"refresh-{p}")) for p in (1, 2, 3)}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a scratch PostgreSQL database made for the test
    on the server at TEST_DATABASE_URL (the session's own database is left alone)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    url = sa.make_url(server)
    if url.get_backend_name() != "postgresql":
        pytest.skip(f"TEST_DATABASE_URL is not PostgreSQL ({url.get_backend_name()})")
    name = f"test_migration_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL: cannot create the scratch database {name}: {exc}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def old_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    """The host app on that database, migrated to the previous head, in an app context."""
    from host_app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-secret",
            "QBO_SYNC_TOKEN_KEY": TOKEN_KEY,
            "QBO_SYNC_ENVIRONMENT": "emulator",
            "QBO_SYNC_EMULATOR_URL": "http://127.0.0.1:9",
            "QBO_SYNC_CLIENT_ID": "migration-tests",
            "QBO_SYNC_CLIENT_SECRET": "migration-tests-secret",
            "QBO_SYNC_REDIRECT_URI": "http://127.0.0.1:5000/admin/qbo/callback",
        }
    )
    with app.app_context():
        upgrade(revision=PREVIOUS_HEAD)
        yield app
        db.engine.dispose()


@pytest.fixture
def migrated(old_app: Flask) -> Flask:
    """Old-shape data, then the migration to the head."""
    with db.engine.begin() as conn:
        fill_old_shape(conn)
    upgrade()
    return old_app


def insert(conn: sa.Connection, table: str, **values: Any) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    stamps = {"created_at": T, "updated_at": T} if table != "qbo_sync_run_phase" else {}
    if stamps:
        columns += ", created_at, updated_at"
        params += ", :created_at, :updated_at"
    sql = f"INSERT INTO {table} ({columns}) VALUES ({params})"  # noqa: S608 - names are ours
    conn.execute(sa.text(sql), {**values, **stamps})


def fill_old_shape(conn: sa.Connection) -> None:
    # The CRM: two customers, three sales, receipts and adjustments of every sort.
    insert(conn, "user_account", id=1, username="office", password_hash="x")
    insert(conn, "market_segment", id=1, name="East")
    insert(conn, "product", id=1, name="Widget", unit_price=10)
    for cid in (1, 2):
        insert(conn, "customer", id=cid, first_name="Ann", last_name=f"Lee {cid}")
    for sid, cid in ((10, 1), (11, 1), (12, 2)):
        insert(
            conn,
            "sale",
            id=sid,
            number=f"S-{sid}",
            customer_id=cid,
            market_segment_id=1,
            sold_on="2026-01-01",
            status="sold",
        )
        insert(conn, "sale_line", sale_id=sid, product_id=1, quantity=1, unit_price=100)
    receipts = [  # id, kind, sale, amount
        (100, "receipt", 10, 30),
        (101, "adjustment", 10, 20),  # reduces the balance: a CreditMemo and its application
        (102, "adjustment", 11, -15),  # raises it: a line of the invoice
        (103, "receipt", 11, 25),  # in flight when the old engine stopped
        (104, "adjustment", 11, 5),  # a credit memo that never got through (blocked)
        (105, "adjustment", 12, -5),  # a line that never got through (blocked)
    ]
    for rid, kind, sid, amount in receipts:
        insert(
            conn,
            "receipt",
            id=rid,
            number=f"R-{rid}",
            kind=kind,
            customer_id=1 if sid != 12 else 2,
            sale_id=sid,
            received_on="2026-01-02",
            payment_method="Check" if kind == "receipt" else None,
            amount=amount,
        )

    # Profiles: 1 and 2 share realm R1 (2 connected last, but must reconnect: 1's grant wins),
    # 3 is on R2 (and was on R0 before), 4 was never connected.
    profiles = [  # id, segment, realm, name, connected at, reconnect needed
        (1, "east", R1, "Acme East", "2026-01-01 09:00:00.000000", False),
        (2, "west", R1, "Acme (west)", "2026-01-05 09:00:00.000000", True),
        (3, None, R2, "Beta LLC", "2026-01-03 09:00:00.000000", False),
        (4, "north", None, None, None, False),
    ]
    for pid, segment, realm, name, connected_at, reconnect in profiles:
        access, refresh = TOKENS.get(pid, (None, None))
        insert(
            conn,
            "qbo_sync_profile",
            id=pid,
            segment_key=segment,
            segment_name=segment or "All segments",
            realm_id=realm,
            company_name=name,
            connected_at=connected_at,
            access_token_enc=access,
            access_token_expires_at="2026-01-06 10:00:00.000000" if access else None,
            refresh_token_enc=refresh,
            refresh_token_expires_at="2026-04-01 10:00:00.000000" if refresh else None,
            reconnect_needed=reconnect,
            ar_account_id=f"8{pid}",
            ar_account_name="Accounts Receivable",
        )

    runs = [  # id, profile, realm, status
        (1, 1, R1, "succeeded"),
        (2, 2, R1, "partial"),
        (3, 3, R2, "succeeded"),
        (4, 4, None, "failed"),  # never connected: no company, deleted
        (5, 3, None, "queued"),  # no realm yet: its profile's company
        (6, 1, "9130359999999999", "failed"),  # a realm nobody knows any more: deleted
    ]
    phases = {1: ["customers", "items"], 2: ["customers"], 3: ["customers", "sales"]}
    phases.update({4: ["customers"], 6: ["customers"]})
    for run_id, pid, realm, status in runs:
        insert(
            conn,
            "qbo_sync_run",
            id=run_id,
            profile_id=pid,
            realm_id=realm,
            status=status,
            trigger="manual",
            progress_done=0,
            progress_total=0,
        )
        for phase in phases.get(run_id, []):
            insert(
                conn,
                "qbo_sync_run_phase",
                run_id=run_id,
                phase=phase,
                started_at=T,
                created=1,
                updated=0,
                unchanged=0,
                failed=0,
                blocked=0,
            )

    def record(
        pid: int, realm: str, kind: str, local_id: str, qbo: str | None = None, **kw: Any
    ) -> None:
        """A record of the old engine; `qbo` is "<qbo_type>:<qbo_id>"."""
        qbo_type, qbo_id = qbo.split(":") if qbo else (None, None)
        values = {"status": "synced", "payload_version": 1, "attempts": 1, "dirty": False}
        values |= {"deleted": False, "qbo_type": qbo_type, "qbo_id": qbo_id, **kw}
        insert(
            conn,
            "qbo_sync_record",
            profile_id=pid,
            realm_id=realm,
            kind=kind,
            local_id=local_id,
            **values,
        )

    # Both profiles of R1 pushed customers 1 and 2: one document each is kept (for 1 the
    # synced one, though it came later; for 2 the first).
    record(2, R1, "customer", "1", status="failed", error_code="6000", explanation="refused")
    record(1, R1, "customer", "1", "Customer:c1")
    record(1, R1, "customer", "2", "Customer:c2a")
    record(2, R1, "customer", "2", "Customer:c2b")
    record(1, R1, "item", "widget", "Item:it1")
    record(1, R1, "paymethod", "check", "PaymentMethod:pm1")
    record(
        1,
        R1,
        "sale",
        "10",
        "Invoice:inv10",
        sync_token="2",
        payload_hash="h10",
        payload_version=3,
        cleaned="name shortened",
        qbo_name="Ann Lee (1)",
    )
    record(1, R1, "sale", "13", "voided:inv13", deleted=True)  # deleted in the CRM, voided
    record(2, R1, "sale", "11", "Invoice:inv11", dirty=True, last_run_id=6)
    record(1, R1, "receipt", "100", "Payment:pay100")
    record(1, R1, "adjustment", "101", "CreditMemo:cm101")
    record(1, R1, "adjustment_app", "101", "Payment:app101")
    record(1, R1, "adjustment", "102", "InvoiceLine:inv11")
    record(
        1,
        R1,
        "receipt",
        "103",
        status="in_flight",
        request_id="rec-0123456789abcdef",
        last_run_id=1,
    )
    record(
        1,
        R1,
        "adjustment",
        "104",
        status="blocked",
        explanation="Waits for sale S-11",
        root_cause="the customer's e-mail",
    )
    record(1, R1, "adjustment", "105", status="blocked")
    record(1, R1, "receipt", "199", "Payment:pay199", deleted=True)  # gone from the CRM
    record(3, R2, "customer", "1", "Customer:x1")
    record(3, R2, "sale", "12", "Invoice:x12")
    # What profile 3 pushed into the company it was connected to before.
    record(3, R0, "customer", "1", "Customer:old1")
    record(3, R0, "sale", "9", "voided:old9")


def rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


EXPECTED_DOCUMENTS = {
    # (realm, kind, local id): (qbo id, live, sale id, status, profile id)
    (R1, "customer", "1"): ("c1", True, None, "synced", 1),
    (R1, "customer", "2"): ("c2a", True, None, "synced", 1),
    (R1, "item", "widget"): ("it1", True, None, "synced", 1),
    (R1, "paymethod", "check"): ("pm1", True, None, "synced", 1),
    (R1, "invoice", "10"): ("inv10", True, "10", "synced", 1),
    (R1, "invoice", "11"): ("inv11", True, "11", "synced", 2),
    (R1, "invoice", "13"): ("inv13", False, "13", "synced", 1),
    (R1, "payment", "100"): ("pay100", True, "10", "synced", 1),
    (R1, "credit_memo", "101"): ("cm101", True, "10", "synced", 1),
    (R1, "credit_app", "101"): ("app101", True, "10", "synced", 1),
    (R1, "payment", "103"): (None, False, "11", "pending", 1),
    (R1, "credit_memo", "104"): (None, False, "11", "blocked", 1),
    (R1, "payment", "199"): ("pay199", True, None, "synced", 1),
    (R2, "customer", "1"): ("x1", True, None, "synced", 3),
    (R2, "invoice", "12"): ("x12", True, "12", "synced", 3),
    (R0, "customer", "1"): ("old1", True, None, "synced", 3),
    (R0, "invoice", "9"): ("old9", False, "9", "synced", 3),
}


def documents() -> dict[tuple[str, str, str], tuple[Any, ...]]:
    found = rows(
        "SELECT c.realm_id, d.kind, d.local_id, d.qbo_id, d.live, d.sale_id, d.status, "
        "d.profile_id FROM qbo_sync_document d JOIN qbo_sync_company c ON c.id = d.company_id"
    )
    out = {(r[0], r[1], r[2]): (r[3], bool(r[4]), *r[5:]) for r in found}
    assert len(out) == len(found), "two documents for one (company, kind, local id)"
    return out


def test_companies_take_the_connections_of_the_profiles(migrated: Flask) -> None:
    companies = {
        r[0]: r[1:]
        for r in rows(
            "SELECT realm_id, company_name, access_token_enc, refresh_token_enc, "
            "reconnect_needed, fence, connected_at IS NOT NULL FROM qbo_sync_company"
        )
    }
    assert set(companies) == {R0, R1, R2}
    # R1: profiles 1 and 2; 2 connected last but must reconnect, so 1's grant is the company's.
    assert companies[R1][:3] == ("Acme East", *TOKENS[1])
    assert not companies[R1][3] and companies[R1][4] == 0 and companies[R1][5]
    assert companies[R2][:3] == ("Beta LLC", *TOKENS[3])
    assert not companies[R2][3]
    # R0 is only known from old records: a company without connection, to reconnect.
    assert companies[R0][:3] == (None, None, None) and not companies[R0][5]
    # The tokens still open with the plugin's key.
    assert FERNET.decrypt(companies[R1][2].encode()) == b"refresh-1"

    profiles = rows(
        "SELECT p.id, c.realm_id, p.segment_name, p.ar_account_id FROM qbo_sync_profile p "
        "LEFT JOIN qbo_sync_company c ON c.id = p.company_id ORDER BY p.id"
    )
    assert profiles == [
        (1, R1, "east", "81"),
        (2, R1, "west", "82"),
        (3, R2, "All segments", "83"),
        (4, None, "north", "84"),
    ]
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("qbo_sync_profile")}
    assert not columns & {"realm_id", "company_name", "access_token_enc", "refresh_token_enc"}


def test_runs_belong_to_companies(migrated: Flask) -> None:
    runs = rows(
        "SELECT r.id, c.realm_id, r.realm_id, r.profile_id, r.fence, r.attempts, r.problems "
        "FROM qbo_sync_run r JOIN qbo_sync_company c ON c.id = r.company_id ORDER BY r.id"
    )
    assert runs == [
        (1, R1, R1, 1, 0, 0, None),
        (2, R1, R1, 2, 0, 0, None),
        (3, R2, R2, 3, 0, 0, None),
        (5, R2, R2, 3, 0, 0, None),  # queued without a realm: its profile's company
    ]
    # Runs 4 (never connected) and 6 (a realm nobody knows) are gone, with their phases.
    phases = rows("SELECT run_id, phase FROM qbo_sync_run_phase ORDER BY run_id, id")
    assert phases == [
        (1, "customers"),
        (1, "items"),
        (2, "customers"),
        (3, "customers"),
        (3, "sales"),
    ]


def test_records_become_documents(migrated: Flask) -> None:
    assert documents() == EXPECTED_DOCUMENTS
    # The raising adjustments (an invoice line, pushed or not) have no document of their own.
    assert not rows("SELECT id FROM qbo_sync_document WHERE local_id IN ('102', '105')")
    assert "qbo_sync_record" not in sa.inspect(db.engine).get_table_names()

    (invoice,) = rows(
        "SELECT sync_token, payload_hash, generation, cleaned, qbo_name, facts "
        "FROM qbo_sync_document WHERE kind = 'invoice' AND local_id = '10'"
    )
    assert invoice == ("2", "h10", 3, "name shortened", "Ann Lee (1)", None)
    # In flight under an old request id: pending, nothing journaled; its attempts are kept.
    (in_flight,) = rows(
        "SELECT op_kind, op_request_id, op_body, attempts, last_run_id FROM qbo_sync_document "
        "WHERE kind = 'payment' AND local_id = '103'"
    )
    assert in_flight == (None, None, None, 1, 1)
    (blocked,) = rows(
        "SELECT explanation, root_cause FROM qbo_sync_document WHERE kind = 'credit_memo' "
        "AND local_id = '104'"
    )
    assert blocked == ("Waits for sale S-11", "the customer's e-mail")
    # The run it names was deleted; dirty is kept.
    (dirty,) = rows(
        "SELECT dirty, last_run_id FROM qbo_sync_document WHERE kind = 'invoice' "
        "AND local_id = '11'"
    )
    assert bool(dirty[0]) and dirty[1] is None
    assert rows("SELECT COUNT(*) FROM qbo_sync_document WHERE op_request_id IS NOT NULL") == [(0,)]


def test_crm_rows_are_kept(migrated: Flask) -> None:
    """On SQLite the CRM tables were rebuilt: every row is still there, ids unchanged."""
    for table, count in CRM_ROWS.items():
        assert rows(f"SELECT COUNT(*) FROM {table}") == [(count,)], table  # noqa: S608
    assert rows("SELECT id, sale_id, amount FROM receipt WHERE id = 102") == [(102, 11, -15)]
    assert rows("SELECT id FROM sale ORDER BY id") == [(10,), (11,), (12,)]


def test_head_schema_matches_the_models(migrated: Flask) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [db.metadata, PluginBase.metadata])
    assert diff == [], f"the migrated schema differs from the models: {diff}"


def test_sqlite_crm_ids_are_never_reused(migrated: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sequences never give an id twice")
    for table in CRM_ROWS:
        (sql,) = rows("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t", t=table)
        assert "AUTOINCREMENT" in sql[0].upper(), table
    sequences = dict(rows("SELECT name, seq FROM sqlite_sequence"))
    # Sale 13 and receipt 199 were deleted before the migration, but QuickBooks knows them.
    assert sequences["sale"] == 13 and sequences["receipt"] == 199
    assert sequences["customer"] == 2 and sequences["product"] == 1

    def new_sale(number: str) -> int:
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sale (number, customer_id, sold_on, status, created_at, "
                    "updated_at) VALUES (:n, 1, '2026-02-01', 'sold', :t, :t)"
                ),
                {"n": number, "t": T},
            )
            return int(conn.execute(sa.text("SELECT MAX(id) FROM sale")).scalar_one())

    first = new_sale("S-NEW-1")
    assert first == 14
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sale WHERE id = :id"), {"id": first})
    assert new_sale("S-NEW-2") > first
    # Enforcement is back on for the app's connections, and nothing dangles.
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(sa.text("PRAGMA foreign_key_check")).fetchall() == []


def test_downgrade_then_upgrade_again(migrated: Flask) -> None:
    downgrade(revision=PREVIOUS_HEAD)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert "qbo_sync_record" in tables
    assert not tables & {"qbo_sync_company", "qbo_sync_document"}
    profiles = rows(
        "SELECT id, realm_id, company_name, refresh_token_enc FROM qbo_sync_profile ORDER BY id"
    )
    assert profiles == [
        (1, R1, "Acme East", TOKENS[1][1]),
        (2, R1, "Acme East", TOKENS[1][1]),
        (3, R2, "Beta LLC", TOKENS[3][1]),
        (4, None, None, None),
    ]
    records = {
        (r[0], r[1], r[2], r[3]): r[4:]
        for r in rows(
            "SELECT profile_id, realm_id, kind, local_id, qbo_type, qbo_id, status "
            "FROM qbo_sync_record"
        )
    }
    assert len(records) == len(EXPECTED_DOCUMENTS)
    assert records[(1, R1, "sale", "13")] == ("voided", "inv13", "synced")
    assert records[(1, R1, "adjustment", "101")] == ("CreditMemo", "cm101", "synced")
    assert records[(1, R1, "adjustment_app", "101")] == ("Payment", "app101", "synced")
    assert records[(1, R1, "adjustment", "104")] == (None, None, "blocked")
    assert records[(2, R1, "sale", "11")] == ("Invoice", "inv11", "synced")
    assert records[(3, R0, "customer", "1")] == ("Customer", "old1", "synced")
    runs = rows("SELECT id, profile_id, realm_id FROM qbo_sync_run ORDER BY id")
    assert runs == [(1, 1, R1), (2, 2, R1), (3, 3, R2), (5, 3, R2)]

    upgrade()
    assert documents() == EXPECTED_DOCUMENTS
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, [db.metadata, PluginBase.metadata]) == []


def test_a_failed_upgrade_leaves_the_database_as_it_was(old_app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("needs a dangling row, which only SQLite can be made to hold")
    with db.engine.begin() as conn:
        fill_old_shape(conn)
    with db.engine.connect() as conn:  # a sale line of a sale that is gone
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(
            sa.text(
                "INSERT INTO sale_line (sale_id, product_id, quantity, unit_price, "
                "created_at, updated_at) VALUES (999, 1, 1, 1, :t, :t)"
            ),
            {"t": T},
        )
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")

    with pytest.raises(SystemExit):  # Flask-Migrate's exit on the migration's RuntimeError
        upgrade()
    assert rows("SELECT version_num FROM alembic_version") == [(PREVIOUS_HEAD,)]
    tables = set(sa.inspect(db.engine).get_table_names())
    assert "qbo_sync_record" in tables and "qbo_sync_company" not in tables
    assert rows("SELECT COUNT(*) FROM qbo_sync_record") == [(21,)]
    assert rows("SELECT COUNT(*) FROM qbo_sync_run") == [(6,)]
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("qbo_sync_run")}
    assert "company_id" not in columns
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1

    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sale_line WHERE sale_id = 999"))
    upgrade()
    assert documents() == EXPECTED_DOCUMENTS
