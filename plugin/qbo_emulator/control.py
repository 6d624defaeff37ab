"""The /_emulator/ control API (only with --control): faults, tokens, stats, throttle, companies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from . import company, tokens
from .entities import BY_SEGMENT, NAME_LISTS
from .entities.preferences import mirror
from .errors import dumps
from .repo import Repo
from .runtime import FAULT_KINDS
from .state import emulator

blueprint = Blueprint("qbo_control", __name__, url_prefix="/_emulator")


@blueprint.before_request
def only_with_control() -> None:
    if not emulator().control:
        abort(404)


def _body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else dict(request.values)


def _realm(value: object) -> str:
    realm = str(value or "")
    if realm not in emulator().realms.values():
        abort(
            Response(f'{{"error": "unknown realmId {realm!r}"}}', 400, mimetype="application/json")
        )
    return realm


@blueprint.get("/realms")
def realms() -> Response:
    return jsonify(emulator().realms)


@blueprint.post("/faults")
def inject() -> Response:
    body = _body()
    realm = _realm(body.get("realmId"))
    kind = str(body.get("kind", ""))
    if kind not in FAULT_KINDS:
        return Response(f'{{"error": "kind must be one of {list(FAULT_KINDS)}"}}', 400)
    count = int(body.get("count", 1))
    entity = body.get("entity")
    seconds = float(body.get("seconds") or 0)
    if kind == "slow" and seconds <= 0:
        seconds = 5.0
    emulator().faults.add(realm, kind, count, str(entity) if entity else None, seconds)
    return jsonify({"pending": emulator().faults.pending(realm)})


@blueprint.get("/faults")
def pending() -> Response:
    return jsonify({"pending": emulator().faults.pending(_realm(request.args.get("realmId")))})


@blueprint.delete("/faults")
def clear() -> Response:
    emulator().faults.clear(_realm(request.args.get("realmId")))
    return jsonify({"pending": []})


@blueprint.post("/expire-tokens")
def expire_tokens() -> Response:
    body = _body()
    emu = emulator()
    with emu.store.write() as conn:
        tokens.expire_all(conn, bool(body.get("refresh_tokens")))
    return jsonify({"expired": True})


@blueprint.get("/stats")
def stats() -> Response:
    return jsonify(emulator().stats.snapshot(_realm(request.args.get("realmId"))))


@blueprint.get("/entities")
def entity_counts() -> Response:
    """How many live (not deleted) entities of each kind the company holds."""
    realm = _realm(request.args.get("realmId"))
    with emulator().store.read() as conn:
        rows = conn.execute(
            "SELECT kind, COUNT(*) AS n FROM entities WHERE realm_id=? AND status != 'Deleted' "
            "GROUP BY kind ORDER BY kind",
            (realm,),
        ).fetchall()
    return jsonify({str(r["kind"]): int(r["n"]) for r in rows})


@blueprint.post("/stats/reset")
def reset_stats() -> Response:
    body = _body()
    realm = _realm(body.get("realmId") or request.args.get("realmId"))
    emulator().stats.reset(realm)
    return jsonify(emulator().stats.snapshot(realm))


@blueprint.post("/throttle/reset")
def reset_throttle() -> Response:
    emulator().throttle.reset()
    return jsonify({"reset": True})


def _error(status: int, message: str) -> Response:
    return Response(dumps({"error": message}), status, mimetype="application/json")


@blueprint.get("/company")
def company_settings() -> Response:
    realm = _realm(request.args.get("realmId"))
    with emulator().store.read() as conn:
        return jsonify(company.load(conn, realm).as_json(realm))


@blueprint.post("/company")
def set_company() -> Response:
    """Change the keys sent; Preferences (BookCloseDate, TaxPrefs) follow in the same write."""
    body = _body()
    realm = _realm(body.get("realmId"))
    emu = emulator()
    with emu.store.write() as conn:
        try:
            settings = company.load(conn, realm).changed(body)
        except company.SettingsError as exc:
            return _error(400, str(exc))
        company.save(conn, realm, settings)
        repo = Repo(conn, realm, emu.clock)
        prefs = repo.get("Preferences", "1")
        if prefs is not None:
            before = dumps(prefs)
            mirror(prefs, settings)
            if dumps(prefs) != before:
                repo.save("Preferences", prefs, bump=True)
    return jsonify(settings.as_json(realm))


@blueprint.post("/deactivate")
def deactivate() -> Response:
    """Active false on a name-list entity, as if someone did it in QuickBooks (no balance rule)."""
    body = _body()
    realm = _realm(body.get("realmId"))
    kind = BY_SEGMENT.get(str(body.get("entity", "")).lower(), "")
    if kind not in NAME_LISTS:
        return _error(400, f"entity must be one of {list(NAME_LISTS)}")
    emu = emulator()
    with emu.store.write() as conn:
        repo = Repo(conn, realm, emu.clock)
        doc = repo.get(kind, body.get("Id", ""))
        if doc is None:
            return _error(404, f"no {kind} with Id {body.get('Id')!r}")
        if doc.get("Active") is not False:
            doc["Active"] = False
            repo.save(kind, doc, bump=True)
    return Response(dumps({kind: doc}), 200, mimetype="application/json")
