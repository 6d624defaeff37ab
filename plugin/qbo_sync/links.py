"""Links that open a document in QuickBooks: Intuit's web app for production and sandbox, the
emulator's workbook pages in the demo and the tests.

Intuit's app URLs carry no company: they open in the company the user is signed in to. The
emulator's pages are per company (realm) and are served by `qbo_emulator.workbook`.
"""

from __future__ import annotations

from urllib.parse import quote

from .config import Settings
from .models import DocKind

INTUIT_APP = {
    "production": "https://app.qbo.intuit.com/app",
    "sandbox": "https://app.sandbox.qbo.intuit.com/app",
}
# Intuit's page and the name of its id parameter, per kind of document.
INTUIT_PAGES = {
    DocKind.CUSTOMER: ("customerdetail", "nameId"),
    DocKind.INVOICE: ("invoice", "txnId"),
    DocKind.PAYMENT: ("recvpayment", "txnId"),
    DocKind.CREDIT_APPLICATION: ("recvpayment", "txnId"),
    DocKind.CREDIT_MEMO: ("creditmemo", "txnId"),
}
# The emulator's workbook page of each kind (under /app/<realm>/).
EMULATOR_PAGES = {
    DocKind.CUSTOMER: "customer",
    DocKind.INVOICE: "invoice",
    DocKind.PAYMENT: "payment",
    DocKind.CREDIT_APPLICATION: "payment",
    DocKind.CREDIT_MEMO: "creditmemo",
}


def document_url(
    settings: Settings, realm_id: str | None, kind: DocKind | str, qbo_id: str | None
) -> str | None:
    """Where the document opens in QuickBooks; None when it has no page (items, payment
    methods) or no QuickBooks Id yet."""
    if not qbo_id or not realm_id:
        return None
    kind = DocKind(kind)
    if settings.environment == "emulator":
        page = EMULATOR_PAGES.get(kind)
        if page is None:
            return None
        base = settings.emulator_url.rstrip("/")
        return f"{base}/app/{quote(realm_id, safe='')}/{page}/{quote(qbo_id, safe='')}"
    found = INTUIT_PAGES.get(kind)
    if found is None:
        return None
    page, param = found
    return f"{INTUIT_APP[settings.environment]}/{page}?{param}={quote(qbo_id, safe='')}"


def workbook_url(settings: Settings, realm_id: str | None) -> str | None:
    """The company's home in QuickBooks (the emulator's customer list in the demo)."""
    if not realm_id:
        return None
    if settings.environment == "emulator":
        return f"{settings.emulator_url.rstrip('/')}/app/{quote(realm_id, safe='')}/"
    return f"{INTUIT_APP[settings.environment]}/homepage"
