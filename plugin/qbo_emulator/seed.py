"""First-start setup: clients, the companies (stable realm ids) and each company's seed data."""

from __future__ import annotations

import secrets

from .clock import Clock
from .entities.preferences import default_preferences, fill_defaults
from .repo import Doc, Repo
from .store import Store

COMPANIES = ("Company A", "Company B")  # the default; `--companies N` adds C, D, ...
DEMO_REDIRECT_URI = "http://127.0.0.1:5000/admin/qbo/callback"

# (Name, AccountType, AccountSubType, Classification)
ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("Services", "Income", "ServiceFeeIncome", "Revenue"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("Checking", "Bank", "Checking", "Asset"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("Savings", "Bank", "Savings", "Asset"),
    ("Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity"),
    ("Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "Expense"),
)
PAYMENT_METHODS = (
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"),
    ("American Express", "CREDIT_CARD"),
    ("Discover", "CREDIT_CARD"),
)
USD = {"value": "USD", "name": "United States Dollar"}


def register_client(store: Store, client_id: str, secret: str, redirect_uri: str) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO clients (client_id, secret, redirect_uri) VALUES (?, ?, ?) "
            "ON CONFLICT (client_id, redirect_uri) DO UPDATE SET secret = excluded.secret",
            (client_id, secret, redirect_uri),
        )


def demo_client(store: Store) -> tuple[str, str, str]:
    """The demo client, created once per database and reused afterwards."""
    with store.write() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key='demo_client'").fetchone()
        if row is None:
            value = f"ABdemo{secrets.token_hex(12)}:{secrets.token_hex(20)}"
            conn.execute("INSERT INTO meta (key, value) VALUES ('demo_client', ?)", (value,))
        else:
            value = str(row["value"])
    client_id, secret = value.split(":", 1)
    register_client(store, client_id, secret, DEMO_REDIRECT_URI)
    return client_id, secret, DEMO_REDIRECT_URI


def realm_ids(store: Store) -> dict[str, str]:
    with store.read() as conn:
        rows = conn.execute("SELECT realm_id, name FROM realms ORDER BY position").fetchall()
    return {str(r["name"]): str(r["realm_id"]) for r in rows}


def company_names(count: int = len(COMPANIES)) -> tuple[str, ...]:
    """Company A, Company B, ... (at least the two defaults, at most 26)."""
    if not 1 <= count <= 26:
        raise ValueError("between 1 and 26 companies")
    return tuple(f"Company {chr(ord('A') + i)}" for i in range(max(count, len(COMPANIES))))


def ensure_companies(store: Store, clock: Clock, count: int = len(COMPANIES)) -> dict[str, str]:
    """Create the companies on first start; realm ids stay stable for the database file."""
    with store.write() as conn:
        rows = conn.execute("SELECT name, realm_id FROM realms").fetchall()
        existing = {str(r["name"]): str(r["realm_id"]) for r in rows}
        for position, name in enumerate(company_names(count)):
            if name in existing:
                _upgrade(Repo(conn, existing[name], clock), name)
                continue
            realm_id = str(9130350000000000 + secrets.randbelow(10**15))
            conn.execute(
                "INSERT INTO realms (realm_id, name, position) VALUES (?, ?, ?)",
                (realm_id, name, position),
            )
            _seed(Repo(conn, realm_id, clock), name)
    return realm_ids(store)


def _upgrade(repo: Repo, company: str) -> None:
    """Bring a company seeded by an older emulator up to today's Preferences sections."""
    prefs = repo.get("Preferences", "1")
    if prefs is not None and fill_defaults(prefs, company):
        repo.save("Preferences", prefs, bump=False)


def _name(first: str, last: str, display: str) -> Doc:
    return {
        "GivenName": first,
        "FamilyName": last,
        "DisplayName": display,
        "PrintOnCheckName": display,
        "Active": True,
    }


def _seed(repo: Repo, company: str) -> None:
    for name, acct_type, sub_type, classification in ACCOUNTS:
        repo.insert(
            "Account",
            {
                "Name": name,
                "SubAccount": False,
                "FullyQualifiedName": name,
                "Active": True,
                "Classification": classification,
                "AccountType": acct_type,
                "AccountSubType": sub_type,
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": dict(USD),
            },
        )
    for name, method_type in PAYMENT_METHODS:
        repo.insert("PaymentMethod", {"Name": name, "Active": True, "Type": method_type})
    for item_name in ("Services", "Hours"):
        repo.insert(
            "Item",
            {
                "Name": item_name,
                "FullyQualifiedName": item_name,
                "Active": True,
                "Type": "Service",
                "Taxable": False,
                "UnitPrice": 0,
                "IncomeAccountRef": {"value": "1", "name": "Services"},
                "TrackQtyOnHand": False,
            },
        )
    vendor = _name("Bessie", "Williams", "Books by Bessie")
    vendor.update({"CompanyName": "Books by Bessie", "Balance": 0, "Vendor1099": False})
    repo.insert("Vendor", vendor)
    employee = _name("Emily", "Platt", "Emily Platt")
    employee.update({"BillableTime": False})
    repo.insert("Employee", employee)
    address = {"Id": "1", "Line1": "123 Sierra Way", "City": "San Pablo"}
    address.update({"CountrySubDivisionCode": "CA", "PostalCode": "87999", "Country": "USA"})
    repo.insert(
        "CompanyInfo",
        {
            "CompanyName": company,
            "LegalName": f"{company} LLC",
            "CompanyAddr": address,
            "CustomerCommunicationAddr": dict(address),
            "LegalAddr": dict(address),
            "PrimaryPhone": {"FreeFormNumber": "(650)944-4444"},
            "CompanyStartDate": "2015-06-05",
            "FiscalYearStartMonth": "January",
            "Country": "US",
            "Email": {"Address": "noreply@quickbooks.com"},
            "SupportedLanguages": "en",
            "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
        },
    )
    repo.insert("Preferences", default_preferences(company))
