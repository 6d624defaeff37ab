"""Intuit OAuth 2.0 endpoints: discovery, consent page, token, revoke, userinfo; and, with
--control, their ledger (/_emulator/oauth/stats) and scripted failures (/_emulator/oauth/faults)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from . import tokens
from .directory import companies
from .state import emulator

blueprint = Blueprint("qbo_oauth", __name__, template_folder="templates")

KNOWN_SCOPES = {
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
}


LEDGER_KEY = "qbo_emulator.oauth"
FAULT_ENDPOINTS = ("revoke", "token")


@dataclass
class Ledger:
    """What the OAuth endpoints answered, and the failures scripted for their next calls."""

    counts: Counter[str] = field(default_factory=Counter)
    faults: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def take_fault(self, endpoint: str) -> int | None:
        with self.lock:
            queued = self.faults.get(endpoint)
            return queued.pop(0) if queued else None


def ledger() -> Ledger:
    found: Ledger = current_app.extensions.setdefault(LEDGER_KEY, Ledger())
    return found


def _injected(endpoint: str) -> Response | None:
    status = ledger().take_fault(endpoint)
    if status is None:
        return None
    ledger().count(f"{endpoint}_failed")
    response = jsonify({"error": "server_error", "error_description": "injected by the emulator"})
    response.status_code = status
    return response


@blueprint.get("/.well-known/openid_configuration")
@blueprint.get("/.well-known/openid_configuration/")
@blueprint.get("/.well-known/openid_sandbox_configuration")
@blueprint.get("/.well-known/openid_sandbox_configuration/")
def discovery() -> Response:
    base = request.host_url.rstrip("/")
    return jsonify(
        {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
    )


@blueprint.get("/op/v1/jwks")
def jwks() -> Response:
    return jsonify({"keys": []})


def _client_redirect_ok(client_id: str, redirect_uri: str) -> bool:
    with emulator().store.read() as conn:
        row = conn.execute(
            "SELECT 1 FROM clients WHERE client_id=? AND redirect_uri=?", (client_id, redirect_uri)
        ).fetchone()
    return row is not None


def _error_page(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("oauth_error.html", message=message), status


@blueprint.route("/connect/oauth2", methods=["GET", "POST"])
def authorize() -> WerkzeugResponse | tuple[str, int]:
    values = request.values
    client_id = values.get("client_id", "")
    redirect_uri = values.get("redirect_uri", "")
    state = values.get("state", "")
    scope = values.get("scope", "")
    if not _client_redirect_ok(client_id, redirect_uri):
        return _error_page("The client id or the redirect URI is not registered for this app.")

    def back(params: dict[str, str]) -> WerkzeugResponse:
        joiner = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{joiner}{urlencode(params)}", code=302)

    if values.get("response_type") != "code":
        return back({"error": "unsupported_response_type", "state": state})
    scopes = set(scope.split())
    if not scopes or not scopes <= KNOWN_SCOPES:
        return back({"error": "invalid_scope", "state": state})
    emu = emulator()
    if request.method == "GET":
        page = render_template(
            "consent.html",
            companies=companies(emu),
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            scope=scope,
        )
        return page, 200
    if request.form.get("action") != "authorize":
        return back({"error": "access_denied", "state": state})
    realm_id = request.form.get("realmId", "")
    if realm_id not in emu.realms.values():
        return _error_page("Choose a company to connect to.")
    with emu.store.write() as conn:
        code = tokens.new_code(conn, emu.clock, client_id, redirect_uri, realm_id, scope)
    return back({"code": code, "state": state, "realmId": realm_id})


def _oauth_error(error: str, status: int) -> Response:
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _client_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    if request.form.get("client_id"):
        return request.form["client_id"], request.form.get("client_secret", "")
    return None


def _authenticated_client() -> str | None:
    creds = _client_credentials()
    if creds is None:
        return None
    with emulator().store.read() as conn:
        row = conn.execute("SELECT 1 FROM clients WHERE client_id=? AND secret=?", creds).fetchone()
    return creds[0] if row is not None else None


@blueprint.post("/oauth2/v1/tokens/bearer")
def token() -> Response:
    client_id = _authenticated_client()
    if client_id is None:
        return _oauth_error("invalid_client", 401)
    emu = emulator()
    grant_type = request.form.get("grant_type", "")
    injected = _injected("token")
    if injected is not None:
        return injected
    try:
        with emu.store.write() as conn:
            if grant_type == "authorization_code":
                issued = tokens.exchange_code(
                    conn,
                    emu.clock,
                    client_id,
                    request.form.get("code", ""),
                    request.form.get("redirect_uri", ""),
                )
            elif grant_type == "refresh_token":
                issued = tokens.refresh(
                    conn, emu.clock, client_id, request.form.get("refresh_token", "")
                )
            else:
                return _oauth_error("unsupported_grant_type", 400)
    except tokens.InvalidGrant:
        ledger().count(f"{grant_type}_refused")
        return _oauth_error("invalid_grant", 400)
    ledger().count(grant_type)
    body: dict[str, object] = {
        "token_type": "bearer",
        "access_token": issued.access_token,
        "expires_in": int(tokens.ACCESS_TTL),
        "refresh_token": issued.refresh_token,
        "x_refresh_token_expires_in": issued.refresh_expires_in,
    }
    if request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true":
        body["x_refresh_token_hard_expires_in"] = issued.hard_expires_in
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/v2/oauth2/tokens/revoke")
def revoke() -> Response:
    client_id = _authenticated_client()
    if client_id is None:
        return _oauth_error("invalid_client", 401)
    token_value = ""
    if request.is_json:
        payload = request.get_json(silent=True)
        if isinstance(payload, dict):
            token_value = str(payload.get("token", ""))
    else:
        try:
            payload = json.loads(request.get_data(as_text=True) or "{}")
            token_value = str(payload.get("token", "")) if isinstance(payload, dict) else ""
        except json.JSONDecodeError:
            token_value = request.form.get("token", "")
    if not token_value:
        return _oauth_error("invalid_request", 400)
    injected = _injected("revoke")
    if injected is not None:
        return injected
    emu = emulator()
    with emu.store.write() as conn:
        if not tokens.revoke(conn, client_id, token_value):
            return _oauth_error("invalid_client", 401)
    ledger().count("revoke")
    return Response(status=200)


@blueprint.get("/v1/openid_connect/userinfo")
def userinfo() -> Response:
    header = request.headers.get("Authorization", "")
    emu = emulator()
    with emu.store.read() as conn:
        info = tokens.check_access(conn, emu.clock, header.removeprefix("Bearer ").strip())
    if info is None:
        abort(401)
    return jsonify({"sub": info.client_id, "realmid": info.realm_id, "emailVerified": True})


def _control_only() -> None:
    if not emulator().control:
        abort(404)


@blueprint.get("/_emulator/oauth/stats")
def oauth_stats() -> Response:
    """Answers so far: authorization_code and refresh_token grants (given and *_refused),
    revoke, and *_failed (scripted failures served)."""
    _control_only()
    with ledger().lock:
        return jsonify(dict(ledger().counts))


@blueprint.post("/_emulator/oauth/faults")
def oauth_faults() -> Response:
    """The next `count` calls of `endpoint` (revoke or token) answer HTTP `status` (500)."""
    _control_only()
    payload = request.get_json(silent=True)
    body = payload if isinstance(payload, dict) else dict(request.values)
    endpoint = str(body.get("endpoint", ""))
    if endpoint not in FAULT_ENDPOINTS:
        return _oauth_error(f"endpoint must be one of {list(FAULT_ENDPOINTS)}", 400)
    status, count = int(body.get("status", 500)), int(body.get("count", 1))
    if not 400 <= status <= 599 or count < 0:
        return _oauth_error("status must be 4xx or 5xx and count at least 0", 400)
    with ledger().lock:
        queued = ledger().faults.setdefault(endpoint, [])
        if count == 0:
            queued.clear()
        queued.extend([status] * count)
        return jsonify({endpoint: list(queued)})
