"""Request ids and payload hashes: deterministic, bounded, sensitive to what matters."""

from __future__ import annotations

from decimal import Decimal

from qbo_sync.mapping import batch_request_id, payload_hash, request_id


def test_request_id_is_deterministic_and_short() -> None:
    rid = request_id(7, "customer", "1234", 3)
    assert rid == request_id(7, "customer", "1234", 3)
    assert rid.startswith("cus-") and len(rid) == 36
    others = {
        request_id(8, "customer", "1234", 3),
        request_id(7, "sale", "1234", 3),
        request_id(7, "customer", "1235", 3),
        request_id(7, "customer", "1234", 4),
    }
    assert rid not in others and len(others) == 4
    assert len(request_id(123456789, "adjustment", "x" * 64, 10**9)) <= 36


def test_batch_request_id_ignores_member_order() -> None:
    a = batch_request_id(7, "customer", [("1", 1), ("2", 1)])
    assert a == batch_request_id(7, "customer", [("2", 1), ("1", 1)])
    assert a != batch_request_id(7, "customer", [("1", 1), ("2", 2)])
    assert len(a) == 36 and a.startswith("bcus-")


def test_payload_hash_is_canonical() -> None:
    one = {"b": [Decimal("1.50"), "x"], "a": {"y": 1, "x": None}}
    two = {"a": {"x": None, "y": 1}, "b": [Decimal("1.50"), "x"]}
    assert payload_hash(one) == payload_hash(two)
    assert payload_hash(one) != payload_hash({**one, "b": [Decimal("1.51"), "x"]})
    assert len(payload_hash(one)) == 64
    # Decimals hash as their text: the mapping quantises money, so 1.50 stays 1.50.
    assert payload_hash({"v": Decimal("1.50")}) != payload_hash({"v": Decimal("1.5")})
