"""Verify: read back what a run touched and compare it with what the CRM says.

Invoices are read by query (one read per thousand), their totals and open balances compared
with the desired state; a difference is a problem in plain words and the run is not a success.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..client import QBOClient, sql_string

ZERO = Decimal("0.00")


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))


def fmt(value: Decimal) -> str:
    return f"{value:,.2f}"


def read_by_ids(client: QBOClient, entity: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ordered = sorted(set(ids), key=lambda i: (len(i), i))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ordered), 1000):
        listed = ", ".join(sql_string(i) for i in ordered[start : start + 1000])
        for row in client.query(
            f"SELECT * FROM {entity} WHERE Id IN ({listed}) MAXRESULTS 1000"  # noqa: S608
        ):
            out[str(row.get("Id"))] = row
    return out


def verify_invoices(
    client: QBOClient, expected: dict[str, tuple[str, Decimal, Decimal]]
) -> list[str]:
    """`expected`: invoice Id -> (sale label, total, open balance). Returns the differences."""
    problems: list[str] = []
    found = read_by_ids(client, "Invoice", expected)
    for qbo_id, (label, total, balance) in sorted(expected.items()):
        row = found.get(qbo_id)
        if row is None:
            problems.append(f"QuickBooks has no invoice for {label} (Id {qbo_id}).")
            continue
        if _money(row.get("TotalAmt")) != total:
            problems.append(
                f"QuickBooks shows {fmt(_money(row.get('TotalAmt')))} as the total of {label}, "
                f"the CRM {fmt(total)}."
            )
        elif _money(row.get("Balance")) != balance:
            problems.append(
                f"QuickBooks shows {fmt(_money(row.get('Balance')))} open on {label}, "
                f"the CRM {fmt(balance)}."
            )
    return problems
