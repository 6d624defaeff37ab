"""Request ids and payload hashes: deterministic, bounded, sensitive to what matters."""

from __future__ import annotations

from decimal import Decimal

from qbo_sync.mapping import batch_request_id, operation_request_id, payload_hash


def test_request_id_names_one_operation_and_is_short() -> None:
    rid = operation_request_id("9130", "payment", "1234", "create", 3)
    assert rid == operation_request_id("9130", "payment", "1234", "create", 3)
    assert rid.startswith("payc-") and len(rid) == 36
    others = {
        operation_request_id("9131", "payment", "1234", "create", 3),
        operation_request_id("9130", "invoice", "1234", "create", 3),
        operation_request_id("9130", "payment", "1235", "create", 3),
        operation_request_id("9130", "payment", "1234", "void", 3),
        operation_request_id("9130", "payment", "1234", "create", 4),
    }
    assert rid not in others and len(others) == 5
    assert len(operation_request_id("9" * 32, "credit_app", "x" * 64, "delete", 10**9)) <= 36


def test_batch_request_id_ignores_member_order() -> None:
    a = batch_request_id("9130", ["cusc-1", "cusc-2"])
    assert a == batch_request_id("9130", ["cusc-2", "cusc-1"])
    assert a != batch_request_id("9130", ["cusc-1", "cusc-3"])
    assert a != batch_request_id("9131", ["cusc-1", "cusc-2"])
    assert len(a) == 36 and a.startswith("b-")


def test_payload_hash_is_canonical() -> None:
    one = {"b": [Decimal("1.50"), "x"], "a": {"y": 1, "x": None}}
    two = {"a": {"x": None, "y": 1}, "b": [Decimal("1.50"), "x"]}
    assert payload_hash(one) == payload_hash(two)
    assert payload_hash(one) != payload_hash({**one, "b": [Decimal("1.51"), "x"]})
    assert len(payload_hash(one)) == 64
    # Decimals hash as their text: the mapping quantises money, so 1.50 stays 1.50.
    assert payload_hash({"v": Decimal("1.50")}) != payload_hash({"v": Decimal("1.5")})
