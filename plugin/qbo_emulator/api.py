"""/v3/company/{realmId}/...: gateway auth, throttling, fault injection, requestid replay."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, request

from . import tokens
from .errors import ApiFault, dumps, fault_body, gateway_body, proxy_timeout, throttle_fault
from .operations import Call, execute
from .repo import Repo
from .state import DROP_KEY, SLEPT_KEY, Emulator, emulator

blueprint = Blueprint("qbo_api", __name__, url_prefix="/v3/company/<realm_id>")
JSON_TYPE = "application/json;charset=UTF-8"
REQUEST_ID_LIMIT = 50
SERVICE_UNAVAILABLE = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)
BAD_GATEWAY = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center></body></html>"
)
# Intuit's planned-maintenance page. Its HTTP status is unconfirmed (field notes 2.17), so the
# emulator takes the stricter one: 200, which a client must not take for a success.
MAINTENANCE = (
    "<!DOCTYPE html><html><head><title>QuickBooks is down for maintenance</title></head><body>"
    "<h1>We'll be back soon</h1><p>QuickBooks Online is undergoing scheduled maintenance. "
    "Please try again later.</p></body></html>"
)
HTML_REPLIES = {
    "502": (502, BAD_GATEWAY),
    "503": (503, SERVICE_UNAVAILABLE),
    "maintenance": (200, MAINTENANCE),
}


def _json(status: int, payload: Any) -> Response:
    return Response(dumps(payload).encode(), status=status, content_type=JSON_TYPE)


def _gateway(status: int, detail: str) -> Response:
    body = gateway_body(status, int(time.time() * 1000), detail)
    return _json(status, body)


def _fault(emu: Emulator, fault: ApiFault) -> Response:
    return _json(fault.status, fault_body(fault, emu.clock.stamp()))


@blueprint.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
@blueprint.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def dispatch(realm_id: str, path: str) -> Response:
    emu = emulator()
    started = time.perf_counter()
    call = Call(
        method=request.method,
        segments=[s for s in path.split("/") if s],
        args={k: v for k, v in request.args.items()},
        body=request.get_data(),
        content_type=request.content_type or "",
    )
    entity = call.entity
    response = _handle(emu, realm_id, call, entity)
    if realm_id in emu.realms.values():
        status = "dropped" if request.environ.get(DROP_KEY) else str(response.status_code)
        spent = time.perf_counter() - started - request.environ.get(SLEPT_KEY, 0.0)
        emu.stats.record(realm_id, call.method, entity, status, call.is_write, max(spent, 0.0))
    return response


def _handle(emu: Emulator, realm_id: str, call: Call, entity: str) -> Response:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _gateway(401, "Authorization header missing or malformed")
    with emu.store.read() as conn:
        access = tokens.check_access(conn, emu.clock, header[7:].strip())
    if access is None:
        return _gateway(401, "Token expired: the access token is expired, revoked or invalid")
    if access.realm_id != realm_id:
        return _gateway(403, "The app is not authorized for this company (realmId)")
    if "com.intuit.quickbooks.accounting" not in access.scope.split():
        return _gateway(403, "The token lacks the com.intuit.quickbooks.accounting scope")
    is_batch = bool(call.segments) and call.segments[0].lower() == "batch"
    if not emu.throttle.admit(realm_id, access.client_id, is_batch):
        return _fault(emu, throttle_fault())
    try:
        return _admitted(emu, realm_id, call, entity)
    finally:
        emu.throttle.release(realm_id, access.client_id)


def _admitted(emu: Emulator, realm_id: str, call: Call, entity: str) -> Response:
    if emu.latency_ms:
        slept = time.perf_counter()
        emu.clock.sleep(emu.latency_ms / 1000.0)
        request.environ[SLEPT_KEY] = time.perf_counter() - slept
    injected = emu.faults.take(realm_id, entity, call.is_write)
    lose_after = False
    if injected is not None:
        if injected.kind == "429":
            return _fault(emu, throttle_fault())
        if injected.kind == "500":
            fault = ApiFault(
                "10000",
                "An application error has occurred while processing your request: "
                "System Failure Error: injected by the emulator",
                status=500,
                fault_type="SystemFault",
            )
            return _fault(emu, fault)
        if injected.kind in HTML_REPLIES:
            status, page = HTML_REPLIES[injected.kind]
            return Response(page, status=status, content_type="text/html")
        if injected.kind == "504":
            return _fault(emu, proxy_timeout())
        if injected.kind == "slow":
            slept = time.perf_counter()
            time.sleep(injected.seconds)
            request.environ[SLEPT_KEY] = (
                request.environ.get(SLEPT_KEY, 0.0) + time.perf_counter() - slept
            )
        if injected.kind == "drop_before_write":
            return _drop(emu, realm_id)
        lose_after = injected.kind == "lose_response_after_write"
    request_id = call.args.get("requestid", "")
    if len(request_id) > REQUEST_ID_LIMIT:
        return _fault(
            emu,
            ApiFault("2050", "requestid is limited to 50 characters", "requestid"),
        )
    if request_id or call.is_write:
        response = _execute_write(emu, realm_id, call, request_id)
    else:
        response = _execute_read(emu, realm_id, call)
    if lose_after:
        return _drop(emu, realm_id)
    return response


def _drop(emu: Emulator, realm_id: str) -> Response:
    request.environ[DROP_KEY] = True
    emu.stats.count(realm_id, "dropped")
    return Response(b"", status=500)


def _execute_read(emu: Emulator, realm_id: str, call: Call) -> Response:
    with emu.store.read() as conn:
        repo = Repo(conn, realm_id, emu.clock)
        try:
            return _json(200, execute(repo, call, emu.clock.stamp()))
        except ApiFault as fault:
            return _fault(emu, fault)


def _execute_write(emu: Emulator, realm_id: str, call: Call, request_id: str) -> Response:
    with emu.store.write() as conn:
        if request_id:
            row = conn.execute(
                "SELECT status, content_type, body FROM replies WHERE realm_id=? AND request_id=?",
                (realm_id, request_id),
            ).fetchone()
            if row is not None:
                emu.stats.count(realm_id, "replays")
                return Response(
                    bytes(row["body"]), status=row["status"], content_type=row["content_type"]
                )
        repo = Repo(conn, realm_id, emu.clock)
        conn.execute("SAVEPOINT api_call")
        try:
            status, payload = 200, execute(repo, call, emu.clock.stamp())
            conn.execute("RELEASE api_call")
            if call.is_write:
                emu.stats.count(realm_id, "executed_writes")
        except ApiFault as fault:
            conn.execute("ROLLBACK TO api_call")
            conn.execute("RELEASE api_call")
            status, payload = fault.status, fault_body(fault, emu.clock.stamp())
        body = dumps(payload).encode()
        if request_id:
            conn.execute(
                "INSERT INTO replies (realm_id, request_id, status, content_type, body) "
                "VALUES (?, ?, ?, ?, ?)",
                (realm_id, request_id, status, JSON_TYPE, body),
            )
    return Response(body, status=status, content_type=JSON_TYPE)
