"""The fields a sent body changed against the body sent before it (admin.field_changes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qbo_sync.admin.field_changes import FieldChange, diff_bodies, diff_texts, flatten

INVOICE = {
    "CustomerRef": {"value": "58"},
    "DocNumber": "S409",
    "TxnDate": "2026-11-04",
    "Line": [
        {"Amount": Decimal("1000.00"), "Description": "Shingles"},
        {"Amount": Decimal("260.00"), "Description": "Labor"},
    ],
    "ARAccountRef": {"value": "84"},
}


def test_the_first_write_is_created() -> None:
    diff = diff_texts(None, '{"DocNumber":"S409"}')
    assert diff.created and diff.changes == ()


def test_a_sparse_update_names_what_it_changed_and_leaves_the_rest_alone() -> None:
    update = {
        "Id": "146",
        "SyncToken": "0",
        "sparse": True,
        "DocNumber": "S409",
        "Line": [{"Amount": Decimal("1200.00"), "Description": "Shingles"}],
    }
    diff = diff_bodies(INVOICE, update)
    assert not diff.created
    assert diff.changes == (
        FieldChange("Line.0.Amount", "1000.00", "1200.00"),
        FieldChange("Line.1.Amount", "260.00", None),
        FieldChange("Line.1.Description", "Labor", None),
    )  # the account and the customer it left out are unchanged; Id and SyncToken are no fields


def test_amounts_compare_as_sent_not_through_floats() -> None:
    old = '{"Line":[{"Amount":1000.10}],"TotalAmt":5}'
    new = '{"Line":[{"Amount":1000.10}],"TotalAmt":5,"Id":"9","SyncToken":"3"}'
    assert diff_texts(old, new).changes == ()
    assert diff_texts(old, '{"Line":[{"Amount":1000.20}],"TotalAmt":5}').changes == (
        FieldChange("Line.0.Amount", "1000.10", "1000.20"),
    )


def test_paths_are_in_natural_order() -> None:
    old = {"Line": [{"n": 0} for _ in range(12)]}
    new = {"Line": [{"n": 1} for _ in range(12)]}
    fields = [c.field for c in diff_bodies(old, new).changes]
    assert fields == [f"Line.{i}.n" for i in range(12)]


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.text(max_size=8),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text("abcXY", max_size=3), inner, max_size=3),
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(["A", "B", "Line", "Ref", "Id"]), json_value, max_size=4)
# The machine is shared: generation may be slow, and nothing here is timed.
relaxed = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=80)


@relaxed
@given(bodies)
def test_a_body_against_itself_changes_nothing(body: dict[str, Any]) -> None:
    assert diff_bodies(body, body).changes == ()
    assert diff_bodies(body, {**body, "SyncToken": "7", "sparse": True}).changes == ()


@relaxed
@given(bodies, bodies)
def test_the_changes_turn_the_old_fields_into_the_new(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    """A full (not sparse) body: old's leaves with the changes applied are new's leaves."""
    new = {k: v for k, v in new.items() if k != "sparse"}
    fields = flatten({k: v for k, v in old.items() if k != "Id"})
    fields.pop("", None)
    for change in diff_bodies(old, new).changes:
        assert change.old != change.new
        assert fields.get(change.field) == change.old
        if change.new is None:
            del fields[change.field]
        else:
            fields[change.field] = change.new
    expected = flatten({k: v for k, v in new.items() if k != "Id"})
    expected.pop("", None)
    assert fields == expected
