"""Plain words for the faults a bookkeeper meets, keyed by QuickBooks' error code."""

from __future__ import annotations

from ..errors import QBORequestError

EXPLANATIONS: dict[str, str] = {
    "6240": "Another customer, vendor or employee in QuickBooks already uses this name.",
    "6140": "Another invoice in QuickBooks already has this number, for a different customer, "
    "date or amount.",
    "610": "Something this record refers to (customer, item, account or payment method) is "
    "inactive or deleted in QuickBooks.",
    "2500": "Something this record refers to (customer, item, account or payment method) does "
    "not exist in QuickBooks.",
    "2040": "A name or text contains characters QuickBooks does not allow.",
    "2050": "A name or text is longer than QuickBooks allows.",
    "2020": "A field QuickBooks requires is missing.",
    "2210": "QuickBooks does not accept the customer's e-mail address; correct it in the CRM.",
    "6000": "QuickBooks refused the transaction as a whole; its message says why.",
    "6190": "The QuickBooks subscription has ended or is suspended; the company is read-only.",
    "6210": "The transaction date is on or before the closing date set in QuickBooks.",
    "6250": "The customer is inactive in QuickBooks; make it active again there.",
    "3200": "QuickBooks no longer accepts the connection; connect this workbook again.",
    "3100": "The connection is not authorised for this QuickBooks company; connect again.",
    "5010": "The record was changed in QuickBooks at the same time; it will be retried.",
    "3001": "QuickBooks asked us to slow down; the record will be retried.",
}


def explain(error: QBORequestError) -> str:
    """The plain-language reason for a failed write (falls back to QuickBooks' own message)."""
    code = error.code or ""
    if code in EXPLANATIONS:
        return EXPLANATIONS[code]
    if error.retryable:
        return "QuickBooks could not be reached or did not answer in time; it will be retried."
    detail = error.detail or str(error)
    return f"QuickBooks refused the record: {detail}"


def blocked_by(parent_label: str, reason: str | None) -> str:
    why = f": {reason}" if reason else ""
    return f"Waiting for {parent_label}, which did not reach QuickBooks{why}"


def closed_period(label: str, txn_date: object, close_date: object) -> str:
    return (
        f"Not sent: {label} is dated {txn_date}, on or before the books' closing date "
        f"({close_date}) in QuickBooks. Change the date in the CRM, or the closing date in "
        "QuickBooks, and synchronize again."
    )
