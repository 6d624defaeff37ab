"""Fault parsing and JSON encoding of the client (pure parts, no HTTP)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from qbo_sync.client import encoding
from qbo_sync.client.faults import error_from_response
from qbo_sync.errors import (
    AuthenticationError,
    AuthorizationError,
    QBOFault,
    RetryableRequestError,
    StaleObjectError,
    ThrottledError,
    ValidationError,
)

GATEWAY_401 = {
    "warnings": None,
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: eyJ...",
                "code": "3200",
                "element": None,
            }
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1633520295688,
}


def fault(code: str, element: str = "", message: str = "m", detail: str = "d") -> dict:
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    return {"Fault": {"Error": [error], "type": "ValidationFault"}, "time": "t"}


def parse(status: int, body: object, headers: dict | None = None):
    return error_from_response(status, body, headers or {"intuit_tid": "tid-1"}, "rid-1", "POST x")


def test_success_is_none() -> None:
    assert parse(200, {"Customer": {"Id": "1"}}) is None


def test_validation_fault_carries_every_fact() -> None:
    body = fault("6240", "DisplayName", "Duplicate Name Exists Error", "The name supplied ...")
    body["Fault"]["Error"].append({"Message": "second", "code": "2050", "element": "x"})
    error = parse(400, body)
    assert type(error) is ValidationError
    assert (error.status, error.code, error.element) == (400, "6240", "DisplayName")
    assert error.intuit_tid == "tid-1" and error.request_id == "rid-1"
    assert error.fault_type == "ValidationFault"
    assert error.faults[1] == QBOFault(code="2050", message="second", detail="", element="x")
    assert "6240" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, GATEWAY_401, AuthenticationError),
        (
            403,
            {"fault": {"error": [{"code": "3100", "message": "m"}], "type": "SERVICE"}},
            AuthorizationError,
        ),
        (400, fault("5010"), StaleObjectError),
        (500, fault("10000"), RetryableRequestError),
        (503, None, RetryableRequestError),
        (502, None, RetryableRequestError),
        (
            504,
            {"Fault": {"Error": [{"code": "6002", "Message": "m"}], "type": "SERVICE"}},
            RetryableRequestError,
        ),
        (404, None, ValidationError),
        (200, fault("6000"), ValidationError),
    ],
)
def test_status_and_code_pick_the_class(status: int, body: object, cls: type) -> None:
    assert type(parse(status, body)) is cls


def test_gateway_401_is_parsed_from_the_lower_case_envelope() -> None:
    error = parse(401, GATEWAY_401)
    assert error.code == "3200" and error.detail.startswith("Token expired")
    assert error.element == "" and error.fault_type == "AUTHENTICATION"


def test_throttle_with_and_without_retry_after() -> None:
    body = fault("003001", message="message=ThrottleExceeded; errorCode=003001; statusCode=429")
    error = parse(429, body)
    assert isinstance(error, ThrottledError) and error.retry_after == 60.0 and error.code == "3001"
    error = parse(429, None, {"Retry-After": "7"})
    assert isinstance(error, ThrottledError) and error.retry_after == 7.0
    assert isinstance(parse(403, body), ThrottledError)  # older variant: 403 ThrottleExceeded


def test_decimals_are_sent_exactly() -> None:
    text = encoding.dumps(
        {"a": Decimal("150.00"), "b": [Decimal("0.1"), Decimal("1E+2"), 3, True, None], "c": "é\n"}
    )
    assert text == '{"a":150.00,"b":[0.1,100,3,true,null],"c":"é\\n"}'
    assert encoding.loads(text)["a"] == Decimal("150.00")
    assert str(encoding.loads(text)["b"][0]) == "0.1"
    with pytest.raises(ValueError):
        encoding.dumps(Decimal("NaN"))
    with pytest.raises(TypeError):
        encoding.dumps({"x": object()})
