"""Shared rule helpers: input cleaning, lengths, characters, references, money."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ApiFault
from ..repo import NAME_KINDS as NAME_KINDS  # re-exported: the rules import it from here
from ..repo import Doc, Repo
from ..repo import norm_name as norm_name  # re-exported: the rules import it from here

CENT = Decimal("0.01")
LIST_KINDS = (*NAME_KINDS, "Item", "Account", "PaymentMethod")
TXN_KINDS = ("Invoice", "CreditMemo", "Payment")
SERVER_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse")
INACTIVE_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
EMAIL = re.compile(r"^[^@\s:;,<>()\[\]\\\"]+@[^@\s:;,<>()\[\]\\\"]+\.[A-Za-z]{2,}$")


def clean(value: Any) -> Any:
    """Drop "" strings, nulls and empty objects, as python-quickbooks' defaults mean "absent"."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != "" and v != {}}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def required(doc: Doc, field: str, element: str | None = None) -> Any:
    value = doc.get(field)
    if value is None or value == "" or value == [] or value == {}:
        raise ApiFault(
            "2020", f"Required parameter {field} is missing in the request", element or field
        )
    return value


def check_length(value: Any, limit: int, element: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        raise ApiFault(
            "2050",
            f"String length specified does not match the supported length. Min:0 Max:{limit} "
            f"supplied length:{len(value)}",
            element,
        )


def check_lengths(doc: Doc, limits: dict[str, int]) -> None:
    """`limits` maps "Field" or "Field.Sub" to a maximum length."""
    for path, limit in limits.items():
        head, _, tail = path.partition(".")
        value = doc.get(head)
        if tail:
            value = value.get(tail) if isinstance(value, dict) else None
        check_length(value, limit, path)


def check_name_chars(value: str, element: str) -> None:
    bad = [c for c in (":", "\t", "\n", "\r") if c in value]
    if bad:
        raise ApiFault(
            "2040",
            f"Invalid String : {element} contains unsupported or illegal chars ({bad[0]!r})",
            element,
        )


def check_email(doc: Doc, field: str = "PrimaryEmailAddr") -> None:
    addr = doc.get(field)
    if isinstance(addr, dict) and addr.get("Address"):
        check_length(addr["Address"], 100, f"{field}.Address")
        if not EMAIL.match(str(addr["Address"])):  # field notes §1 row 27: code 2210
            raise ApiFault(
                "2210",
                "Email Address does not conform to the syntax rules of RFC 822. "
                f"Supplied value:{addr['Address']}",
                f"{field}.Address",
            )


def money(value: Any, element: str, default: Decimal | None = None) -> Decimal:
    if value is None or value == "":
        if default is not None:
            return default
        raise ApiFault("2020", f"Required parameter {element} is missing in the request", element)
    if isinstance(value, bool):
        raise ApiFault("2080", f"Illegal number format: {value}", element, message="Invalid Number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ApiFault(
            "2080", f"Illegal number format: {value}", element, message="Invalid Number"
        ) from exc
    if not number.is_finite():
        raise ApiFault("2080", f"Illegal number format: {value}", element, message="Invalid Number")
    return number


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        return str(value) if value not in (None, "") else None
    if isinstance(ref, str | int) and str(ref):
        return str(ref)
    return None


def display_of(kind: str, doc: Doc) -> str:
    for key in ("DisplayName", "Name", "FullyQualifiedName"):
        if doc.get(key):
            return str(doc[key])
    return str(doc.get("Id", ""))


def resolve(repo: Repo, kind: str, ref: Any, element: str) -> tuple[Doc, dict[str, str]]:
    """Resolve a reference: missing → 2500, inactive (Active false) → 610. Returns (doc, ref)."""
    value = ref_value(ref)
    if value is None:
        raise ApiFault("2020", f"Required parameter {element} is missing in the request", element)
    doc = repo.get(kind, value)
    if doc is None:
        raise ApiFault(
            "2500",
            f"Invalid Reference Id : {kind} assigned to this transaction has been deleted or "
            f"does not exist. Id={value}",
            element,
        )
    if doc.get("Active") is False:
        # Intuit names neither the field nor the record: element stays empty.
        raise ApiFault("610", INACTIVE_DETAIL, "", message=INACTIVE_DETAIL)
    return doc, {"value": str(doc["Id"]), "name": display_of(kind, doc)}


def as_bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def enum(value: Any, allowed: tuple[str, ...], element: str) -> str:
    if value not in allowed:
        raise ApiFault("2170", f"Invalid Enumeration : {value}", element)
    return str(value)
