"""QuickBooks replies -> the plugin's error tree, with every fact a user or support needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import (
    AuthenticationError,
    AuthorizationError,
    QBOFault,
    QBORequestError,
    RetryableRequestError,
    StaleObjectError,
    ThrottledError,
    ValidationError,
)

DEFAULT_THROTTLE_PAUSE = 60.0


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_faults(fault: Mapping[str, Any]) -> tuple[list[QBOFault], str | None]:
    """The errors of a Fault, from QBO's `Fault` or the gateway's lower-case `fault`."""
    errors = fault.get("Error", fault.get("error")) or []
    if isinstance(errors, Mapping):
        errors = [errors]
    out = []
    for err in errors:
        if not isinstance(err, Mapping):
            continue
        code = _text(err.get("code", err.get("Code"))).lstrip("0") or "0"
        out.append(
            QBOFault(
                code=code,
                message=_text(err.get("Message", err.get("message"))),
                detail=_text(err.get("Detail", err.get("detail"))),
                element=_text(err.get("element", err.get("Element"))),
            )
        )
    kind = fault.get("type")
    return out, None if kind is None else str(kind)


def find_fault(body: Any) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        fault = body.get("Fault") or body.get("fault")
        if isinstance(fault, Mapping):
            return fault
    return None


def retry_after(
    headers: Mapping[str, str] | None, default: float = DEFAULT_THROTTLE_PAUSE
) -> float:
    """Seconds from a Retry-After header (delta form), else `default` (Intuit says wait 60 s)."""
    raw = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def error_for(
    status: int | None,
    faults: list[QBOFault],
    *,
    fault_type: str | None = None,
    intuit_tid: str | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "QuickBooks request",
    default_pause: float = DEFAULT_THROTTLE_PAUSE,
) -> QBORequestError:
    """Pick the error class from the HTTP status and the fault codes."""
    codes = {f.code for f in faults}
    first = faults[0] if faults else None
    summary = f"{what} failed"
    if status is not None:
        summary += f" (HTTP {status})"
    if first is not None:
        summary += f": {first.code} {first.message}"
        if first.detail:
            summary += f": {first.detail}"
    kw: dict[str, Any] = {
        "status": status,
        "faults": faults,
        "intuit_tid": intuit_tid,
        "request_id": request_id,
        "fault_type": fault_type,
    }
    throttle_text = any("ThrottleExceeded" in f.message for f in faults)
    if status == 429 or "3001" in codes or (status == 403 and throttle_text):
        return ThrottledError(summary, retry_after=retry_after(headers, default_pause), **kw)
    if status == 401 or "3200" in codes:
        return AuthenticationError(summary, **kw)
    if status == 403 or "3100" in codes:
        return AuthorizationError(summary, **kw)
    if status is not None and status >= 500:
        return RetryableRequestError(summary, **kw)
    if "5010" in codes:
        return StaleObjectError(summary, **kw)
    return ValidationError(summary, **kw)


def error_from_response(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    request_id: str | None,
    what: str,
    default_pause: float = DEFAULT_THROTTLE_PAUSE,
) -> QBORequestError | None:
    """The error a reply stands for, or None when it is a success."""
    fault = find_fault(body)
    tid = headers.get("intuit_tid")
    if fault is None and 200 <= status < 300:
        return None
    faults: list[QBOFault] = []
    fault_type = None
    if fault is not None:
        faults, fault_type = parse_faults(fault)
    return error_for(
        status,
        faults,
        fault_type=fault_type,
        intuit_tid=tid,
        request_id=request_id,
        headers=headers,
        what=what,
        default_pause=default_pause,
    )
