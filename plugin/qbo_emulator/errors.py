"""Fault bodies as QBO sends them: data-service Faults, gateway 401/403 bodies, throttle 429s."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MESSAGES: dict[str, str] = {
    "500": "Unsupported Operation",
    "610": "Object Not Found",
    "2010": "Request has invalid or unsupported property",
    "2020": "Required param missing, need to supply the required value for the API",
    "2040": "Invalid String",
    "2050": "String length is either shorter or longer than supported by specification",
    "2170": "Invalid Enumeration",
    "2210": "Invalid Email Address",
    "2500": "Invalid Reference Id",
    "4000": "Error parsing query",
    "4001": "Invalid query",
    "5010": "Stale Object Error",
    "6000": "A business validation error has occurred while processing your request",
    "6070": "Amount calculation incorrect in the request.",
    "6140": "Duplicate Document Number Error",
    "6240": "Duplicate Name Exists Error",
    "10000": "An application error has occurred while processing your request",
}


class ApiFault(Exception):
    """A data-service fault; `status` is the HTTP status when raised outside a batch."""

    def __init__(
        self,
        code: str,
        detail: str,
        element: str = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
        message: str | None = None,
        also: tuple[ApiFault, ...] = (),
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type
        self.message = message or MESSAGES.get(code, "Error")
        self.also = also  # further errors reported in the same Fault (one per bad line)

    def error(self) -> dict[str, str]:
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }

    def fault(self) -> dict[str, Any]:
        errors = [self.error(), *(other.error() for other in self.also)]
        return {"Error": errors, "type": self.fault_type}


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(payload: object) -> str:
    """JSON text with Decimals as JSON numbers (150.0), like QBO."""
    return json.dumps(payload, default=_encode, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def fault_body(fault: ApiFault, stamp: str) -> dict[str, Any]:
    return {"Fault": fault.fault(), "time": stamp}


def throttle_fault() -> ApiFault:
    """The 429 body (upper-case Fault, type SERVICE, code 3001) as in Intuit's captures."""
    return ApiFault(
        "3001",
        "The request limit was reached.  Try again later",
        status=429,
        fault_type="SERVICE",
        message="message=ThrottleExceeded; errorCode=003001; statusCode=429",
    )


def proxy_timeout() -> ApiFault:
    """The gateway's 504 when QuickBooks did not answer it in time (code 6002, type SERVICE)."""
    return ApiFault(
        "6002",
        "Timeout occurred while proxying request",
        status=504,
        fault_type="SERVICE",
        message="message=Timeout occurred while proxying request; errorCode=006002; statusCode=504",
    )


def gateway_body(status: int, epoch_ms: int, detail: str) -> dict[str, Any]:
    """The lower-case gateway envelope for 401 (3200) and 403 (3100)."""
    if status == 401:
        code, kind, label = "3200", "AUTHENTICATION", "AuthenticationFailed"
    else:
        code, kind, label = "3100", "SERVICE", "AuthorizationFailed"
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": f"message={label}; errorCode=00{code}; statusCode={status}",
                    "detail": detail,
                    "code": code,
                    "element": None,
                }
            ],
            "type": kind,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_ms,
        "status": None,
        "cdcresponse": [],
    }
