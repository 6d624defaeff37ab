"""CRM customer -> QuickBooks Customer JSON, with cleaning notes and the unique-DisplayName rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..source import CustomerRecord
from .text import clean

# Lengths the plugin keeps to (qbo-api-notes §2.1; the stricter value where sources disagree
# on CompanyName).
DISPLAY_NAME_MAX = 500
GIVEN_NAME_MAX = 100
FAMILY_NAME_MAX = 100
COMPANY_NAME_MAX = 50
PHONE_MAX = 30
EMAIL_MAX = 100
ADDRESS_LINE_MAX = 500
CITY_MAX = 255
STATE_MAX = 255
POSTAL_CODE_MAX = 30
ADDRESS_LINES = 5

# What QuickBooks takes as an e-mail address (it answers 2210, "does not conform to the syntax
# rules of RFC 822", otherwise): the plain dot-atom form, ASCII only, a domain of letters, digits
# and hyphens with a top-level part of two letters or more. Stricter than RFC 822 on purpose: an
# address left out with a note is better than a customer refused.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)


@dataclass(frozen=True, slots=True)
class MappedCustomer:
    """The QuickBooks body for one customer, plus what was changed to make it acceptable."""

    body: dict[str, Any]
    notes: tuple[str, ...]

    @property
    def display_name(self) -> str:
        return str(self.body["DisplayName"])


def base_display_name(customer: CustomerRecord) -> tuple[str, list[str]]:
    """The cleaned DisplayName before any clash.

    "Given Family", else the company name, else "Customer <id>".
    """
    notes: list[str] = []
    person = " ".join(p for p in (customer.first_name, customer.last_name) if p and p.strip())
    raw = person or (customer.company_name or "").strip() or f"Customer {customer.id}"
    return clean(raw, "display name", DISPLAY_NAME_MAX, notes, forbid_colon=True), notes


def disambiguated_display_name(base: str, local_id: str) -> str:
    """The DisplayName used when `base` clashes (6240) with a QuickBooks name that is not ours.

    Rule: ``"<base> (C-<local id>)"``, e.g. "Jane Smith (C-1234)". The local id is unique in the
    CRM, so two clashing CRM customers never get the same name, and the same customer always gets
    the same one (re-runs and retries are stable). The base is cut (trailing spaces dropped) so
    the whole stays within QuickBooks' 500 characters; ':' and control characters in the id are
    cleaned like any name.
    """
    scratch: list[str] = []
    suffix = " (C-" + clean(str(local_id), "id", 100, scratch, forbid_colon=True) + ")"
    head = base[: DISPLAY_NAME_MAX - len(suffix)].rstrip()
    return head + suffix


def _phone(raw: str | None, label: str, notes: list[str]) -> dict[str, str] | None:
    number = clean(raw, label, PHONE_MAX, notes)
    return {"FreeFormNumber": number} if number else None


def _email(raw: str | None, notes: list[str]) -> dict[str, str] | None:
    address = clean(raw, "email", EMAIL_MAX, notes)
    if not address:
        return None
    if not _EMAIL.match(address):
        notes.append(f"email: {address!r} is not an e-mail address; left out")
        return None
    return {"Address": address}


def _bill_addr(customer: CustomerRecord, notes: list[str]) -> dict[str, str] | None:
    addr: dict[str, str] = {}
    street_lines = [
        line for line in (customer.street or "").replace("\r", "\n").split("\n") if line.strip()
    ]
    if len(street_lines) > ADDRESS_LINES:
        notes.append(f"street: {len(street_lines)} lines joined into {ADDRESS_LINES}")
        street_lines = street_lines[: ADDRESS_LINES - 1] + [
            ", ".join(street_lines[ADDRESS_LINES - 1 :])
        ]
    for n, line in enumerate(street_lines, start=1):
        text = clean(line, "street", ADDRESS_LINE_MAX, notes)
        if text:
            addr[f"Line{n}"] = text
    for key, raw, label, limit in (
        ("City", customer.city, "city", CITY_MAX),
        ("CountrySubDivisionCode", customer.state, "state", STATE_MAX),
        ("PostalCode", customer.postal_code, "postal code", POSTAL_CODE_MAX),
    ):
        text = clean(raw, label, limit, notes)
        if text:
            addr[key] = text
    return addr or None


def to_qbo_customer(customer: CustomerRecord, display_name: str | None = None) -> MappedCustomer:
    """The Customer body for a CRM customer; empty fields are left out, never sent as "".

    `display_name` overrides the computed one (the engine passes the disambiguated name after a
    6240 clash that is not the same person).
    """
    notes: list[str] = []
    name, name_notes = base_display_name(customer)
    if display_name is None:
        notes.extend(name_notes)
    else:
        name = display_name
    body: dict[str, Any] = {}
    given = clean(customer.first_name, "first name", GIVEN_NAME_MAX, notes, forbid_colon=True)
    family = clean(customer.last_name, "last name", FAMILY_NAME_MAX, notes, forbid_colon=True)
    company = clean(
        customer.company_name, "company name", COMPANY_NAME_MAX, notes, forbid_colon=True
    )
    if given:
        body["GivenName"] = given
    if family:
        body["FamilyName"] = family
    body["DisplayName"] = name
    if company:
        body["CompanyName"] = company
    for key, value in (
        ("PrimaryPhone", _phone(customer.phone, "phone", notes)),
        ("AlternatePhone", _phone(customer.alt_phone, "alternate phone", notes)),
        ("PrimaryEmailAddr", _email(customer.email, notes)),
        ("BillAddr", _bill_addr(customer, notes)),
    ):
        if value:
            body[key] = value
    return MappedCustomer(body=body, notes=tuple(dict.fromkeys(notes)))
