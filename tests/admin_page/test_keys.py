"""Token keys: `flask qbo rotate-key` moves every stored token to the first key, so the old key
can be retired; a token no configured key opens means "reconnect needed", never a crash."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.connection import TokenCipher, generate_key
from qbo_sync.jobs import start_sync, start_sync_all
from qbo_sync.models import Company, RunStatus, SyncProfile, SyncRun

from crm.models import db
from tests.admin_page.apps import another_app, sign_in
from tests.admin_page.conftest import connect_via_page, create_profile, flashes, page
from tests.engine.conftest import books, connect, work

UNREADABLE = (
    "The stored QuickBooks connection can't be read with the configured key; "
    "press Setup Authentication to reconnect."
)


def _stored(realm: str) -> list[str]:
    db.session.commit()  # a new transaction sees what the other app committed
    company = db.session.scalar(sa.select(Company).filter_by(realm_id=realm))
    assert company is not None and company.access_token_enc and company.refresh_token_enc
    return [company.access_token_enc, company.refresh_token_enc]


def test_rotate_key_moves_every_token_to_the_new_key_and_the_old_one_can_go(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    key_a = app.config["QBO_SYNC_TOKEN_KEY"]
    key_b = generate_key()
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")  # tokens under key A
    realm = emulator.realm_ids["Company A"]
    assert all(TokenCipher(key_a).readable(t) for t in _stored(realm))

    with another_app(app, token_key=f"{key_b},{key_a}") as both, both.app_context():
        result = both.test_cli_runner().invoke(args=["qbo", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 stored token(s) under the first key" in result.output
    assert all(TokenCipher(key_b).readable(t) for t in _stored(realm))
    assert not any(TokenCipher(key_a).readable(t) for t in _stored(realm))

    profile_id = profile.id  # read here: the other app's session must not load the profile
    with another_app(app, token_key=key_b) as only_b, only_b.app_context():
        roofing = db.session.get(SyncProfile, profile_id)
        assert roofing is not None
        run, _ = start_sync(roofing)
        work()
        db.session.commit()
        done = db.session.get(SyncRun, run.id)
        assert done is not None and done.status is RunStatus.SUCCEEDED, done.message
    invoices = books(emulator, "Company A").all("Invoice")
    assert [i["DocNumber"] for i in invoices] == ["S409"]


def test_rotate_key_rewrites_nothing_when_a_token_opens_with_no_key(
    app: Flask, signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, profile, "Company A")
    before = _stored(emulator.realm_ids["Company A"])
    with another_app(app, token_key=generate_key()) as wrong, wrong.app_context():
        result = wrong.test_cli_runner().invoke(args=["qbo", "rotate-key"])
    assert result.exit_code == 1
    assert "can't be read with the configured key" in result.output
    assert "Nothing was rewritten" in result.output
    assert "Traceback" not in result.output
    assert _stored(emulator.realm_ids["Company A"]) == before


def test_a_token_no_key_opens_means_reconnect_needed_and_the_others_go_on(
    app: Flask,
    user: object,
    signed_in: FlaskClient,
    shop: dict[str, int],
    emulator: EmulatorProcess,
) -> None:
    roofing = create_profile(signed_in, "Roofing")
    connect_via_page(signed_in, emulator, roofing, "Company A")  # under the session's key
    with another_app(app, token_key=generate_key()) as new_key:  # that key is gone here
        with new_key.app_context():
            everything = connect(emulator, None, "Company B")  # under the new key
            assert everything.is_connected
            start_sync_all()
            work()
            db.session.commit()
            runs = {r.realm_id: r for r in db.session.scalars(sa.select(SyncRun))}
            stopped = runs[emulator.realm_ids["Company A"]]
            assert stopped.status is RunStatus.FAILED
            assert "no longer accepts this connection" in (stopped.message or "")
            assert "Setup Authentication" in (stopped.message or "")
            went_on = runs[emulator.realm_ids["Company B"]]
            assert went_on.status is RunStatus.SUCCEEDED, went_on.message
            company_a = db.session.scalar(
                sa.select(Company).filter_by(realm_id=emulator.realm_ids["Company A"])
            )
            assert company_a is not None and company_a.reconnect_needed
        text = flashes(page(sign_in(new_key)))
    assert UNREADABLE in text
    assert "Reconnect needed" in text
    assert "Traceback" not in text
    assert books(emulator, "Company A").writes() == 0
    assert [i["DocNumber"] for i in books(emulator, "Company B").all("Invoice")] == ["S409"]
