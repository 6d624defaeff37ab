"""The scope of a run: the sales in scope, and the customers and products they need."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..models import SyncProfile
from ..source import CRMSource, SaleRecord


@dataclass
class Plan:
    sale_ids: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)
    product_names: dict[str, str] = field(default_factory=dict)  # casefold -> as written


def sales_in_scope(
    source: CRMSource,
    profile: SyncProfile,
    sale_ids: Sequence[str] | None = None,
    *,
    with_lines: bool = True,
) -> Iterator[SaleRecord]:
    """The profile's market segment (or all) and its "sync data after" date, on sold-on."""
    return source.iter_sales(
        profile.segment_key, profile.sync_after, sale_ids, with_lines=with_lines
    )


def make_plan(
    source: CRMSource, profile: SyncProfile, sale_ids: Sequence[str] | None = None
) -> Plan:
    scope = source.scope(profile.segment_key, profile.sync_after, sale_ids)
    plan = Plan(sale_ids=scope.sale_ids, customer_ids=scope.customer_ids)
    for name in scope.product_names:
        plan.product_names.setdefault(name.casefold(), name)
    return plan


def chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
