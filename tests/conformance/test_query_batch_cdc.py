"""Query language (paging, count, operators, faults), batch and change data capture."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from quickbooks.batch import batch_create, batch_update
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import ValidationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

if TYPE_CHECKING:
    from conftest import Connected

pytestmark = pytest.mark.conformance
NAMES = [f"Pager {n:02d}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def pagers(conn: Connected) -> list[Customer]:
    created = []
    for name in NAMES:
        c = Customer()
        c.DisplayName = name
        c.CompanyName = "Even" if int(name[-2:]) % 2 == 0 else "Odd"
        created.append(c.save(qb=conn.qb))
    return created


def query(conn: Connected, sql: str) -> dict[str, Any]:
    answer = conn.raw("GET", "query", params={"query": sql})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["QueryResponse"]
    return result


def fault(conn: Connected, sql: str) -> dict[str, Any]:
    answer = conn.raw("POST", "query", data=sql, headers={"Content-Type": "application/text"})
    assert answer.status_code == 400
    error: dict[str, Any] = answer.json()["Fault"]["Error"][0]
    return error


def test_paging_with_startposition_and_maxresults(conn: Connected, pagers: list[Customer]) -> None:
    seen: list[str] = []
    position = 1
    while True:
        page = Customer.where(
            "DisplayName LIKE 'Pager%'",
            order_by="DisplayName",
            start_position=position,
            max_results=5,
            qb=conn.qb,
        )
        seen += [c.DisplayName for c in page]
        if len(page) < 5:
            break
        position += 5
    assert seen == NAMES
    raw = query(
        conn, "select * from Customer where DisplayName like 'Pager%' startposition 11 maxresults 5"
    )
    assert raw["startPosition"] == 11 and raw["maxResults"] == 2
    assert (
        query(conn, "SELECT * FROM Customer WHERE DisplayName LIKE 'Pager%' STARTPOSITION 13") == {}
    )


def test_count(conn: Connected, pagers: list[Customer]) -> None:
    assert Customer.count("DisplayName LIKE 'Pager%'", qb=conn.qb) == 12
    assert query(conn, "select count(*) from Customer where CompanyName = 'Even'") == {
        "totalCount": 6
    }


def test_default_max_results_is_100(conn: Connected, pagers: list[Customer]) -> None:
    raw = query(conn, "SELECT * FROM Account")
    assert raw["maxResults"] == len(raw["Account"]) <= 100


def test_operators_order_and_escapes(conn: Connected, pagers: list[Customer]) -> None:
    quoted = Customer()
    quoted.DisplayName = "O'Brien Pager"
    quoted.save(qb=conn.qb)
    assert [c.DisplayName for c in Customer.filter(DisplayName="O'Brien Pager", qb=conn.qb)] == [
        "O'Brien Pager"
    ]
    names = [
        c.DisplayName
        for c in Customer.choose(["Pager 01", "Pager 03"], field="DisplayName", qb=conn.qb)
    ]
    assert sorted(names) == ["Pager 01", "Pager 03"]
    desc = query(
        conn,
        "SELECT * FROM Customer WHERE DisplayName LIKE 'Pager%' "
        "ORDER BY DisplayName DESC MAXRESULTS 2",
    )
    assert [c["DisplayName"] for c in desc["Customer"]] == ["Pager 12", "Pager 11"]
    ids = [int(c.Id) for c in pagers]
    above = query(
        conn,
        f"SELECT * FROM Customer WHERE Id > '{ids[9]}' AND DisplayName LIKE 'Pager%'",  # noqa: S608
    )
    assert [c["DisplayName"] for c in above["Customer"]] == ["Pager 11", "Pager 12"]
    exact = query(conn, "select * from Customer where DisplayName = 'pager 01'")
    assert exact == {}, "string comparison is case-sensitive (stricter choice)"


def test_metadata_filter(conn: Connected, pagers: list[Customer]) -> None:
    stamp = Customer.get(pagers[-1].Id, qb=conn.qb).MetaData["LastUpdatedTime"]
    raw = query(conn, f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '{stamp}'")  # noqa: S608
    assert "Pager 12" in [c["DisplayName"] for c in raw["Customer"]]


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM Customer STARTPOSITION 0", "4001"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "4001"),
        ("SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'", "4000"),
        ("SELEC * FROM Customer", "4000"),
        ("SELECT * FROM Customer WHERE", "4000"),
        ("SELECT * FROM Widget", "4000"),
    ],
)
def test_query_faults(conn: Connected, sql: str, code: str) -> None:
    assert fault(conn, sql)["code"] == code


def test_python_quickbooks_query_fault_is_validation_exception(conn: Connected) -> None:
    with pytest.raises(ValidationException) as err:
        Customer.query("SELECT * FROM Customer STARTPOSITION 0", qb=conn.qb)
    assert err.value.error_code == 4001


def test_batch_create_with_per_item_faults(conn: Connected) -> None:
    good, dup, bad = Customer(), Customer(), Customer()
    good.DisplayName = "Batch Good"
    dup.DisplayName = "Pager 01"
    bad.DisplayName = "Bad:Colon"
    result = batch_create([good, dup, bad], qb=conn.qb)
    assert [c.DisplayName for c in result.successes] == ["Batch Good"]
    codes = sorted(f.Error[0].code for f in result.faults)
    assert codes == ["2040", "6240"]


def test_batch_items_cannot_see_each_others_creations(conn: Connected) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Batch Parent"}},
            {"bId": "q1", "Query": "select * from Customer where DisplayName = 'Batch Parent'"},
            {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Batch Parent"}},
        ]
    }
    answer = conn.raw("POST", "batch", json=body).json()["BatchItemResponse"]
    assert answer[0]["bId"] == "c1" and answer[0]["Customer"]["DisplayName"] == "Batch Parent"
    assert answer[1] == {"bId": "q1", "QueryResponse": {}}
    assert answer[2]["Fault"]["Error"][0]["code"] == "6240"
    new_id = answer[0]["Customer"]["Id"]
    follow = {
        "BatchItemRequest": [
            {
                "bId": "i1",
                "operation": "create",
                "Invoice": {
                    "CustomerRef": {"value": "999999"},
                    "Line": [
                        {
                            "DetailType": "SalesItemLineDetail",
                            "Amount": 5,
                            "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                        }
                    ],
                },
            },
            {
                "bId": "u1",
                "operation": "update",
                "Customer": {"Id": new_id, "SyncToken": "0", "sparse": True, "Notes": "seen now"},
            },
        ]
    }
    later = conn.raw("POST", "batch", json=follow).json()["BatchItemResponse"]
    assert later[0]["Fault"]["Error"][0]["code"] == "2500"
    assert later[1]["Customer"]["Notes"] == "seen now"


def test_batch_faulted_item_leaves_no_partial_write(conn: Connected) -> None:
    before = Customer.count(qb=conn.qb)
    body = {
        "BatchItemRequest": [
            {"bId": "a", "operation": "create", "Customer": {"DisplayName": "Batch Atomic"}},
            {"bId": "b", "operation": "create", "Customer": {"DisplayName": "x" * 501}},
        ]
    }
    answer = conn.raw("POST", "batch", json=body).json()["BatchItemResponse"]
    assert "Customer" in answer[0] and answer[1]["Fault"]["Error"][0]["code"] == "2050"
    assert Customer.count(qb=conn.qb) == before + 1


def test_batch_update_and_stale_item(conn: Connected, pagers: list[Customer]) -> None:
    current = Customer.get(pagers[0].Id, qb=conn.qb)
    current.Notes = "batch updated"
    stale = Customer.get(pagers[1].Id, qb=conn.qb)
    stale.SyncToken = "77"
    result = batch_update([current, stale], qb=conn.qb)
    assert [c.Notes for c in result.successes] == ["batch updated"]
    assert [f.Error[0].code for f in result.faults] == ["5010"]


def test_batch_over_30_items_is_refused(conn: Connected) -> None:
    items = [{"bId": f"q{i}", "Query": "select * from Item"} for i in range(31)]
    answer = conn.raw("POST", "batch", json={"BatchItemRequest": items})
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "6000"
    ok = conn.raw("POST", "batch", json={"BatchItemRequest": items[:30]})
    assert len(ok.json()["BatchItemResponse"]) == 30


def test_batch_void_and_delete(conn: Connected) -> None:
    inv = {
        "CustomerRef": {"value": Customer.where("DisplayName = 'Pager 05'", qb=conn.qb)[0].Id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 12,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    first = conn.raw("POST", "invoice", json=inv).json()["Invoice"]
    second = conn.raw("POST", "invoice", json=inv).json()["Invoice"]
    body = {
        "BatchItemRequest": [
            {
                "bId": "v",
                "operation": "update",
                "optionsData": "void",
                "Invoice": {"Id": first["Id"], "SyncToken": first["SyncToken"]},
            },
            {
                "bId": "d",
                "operation": "delete",
                "Invoice": {"Id": second["Id"], "SyncToken": second["SyncToken"]},
            },
        ]
    }
    answer = conn.raw("POST", "batch", json=body).json()["BatchItemResponse"]
    assert answer[0]["Invoice"]["TotalAmt"] == 0
    assert answer[1]["Invoice"] == {"Id": second["Id"], "status": "Deleted", "domain": "QBO"}


def test_change_data_capture(conn: Connected, pagers: list[Customer]) -> None:
    marker = conn.raw("GET", f"customer/{pagers[2].Id}").json()["time"]
    body = {
        "Id": pagers[2].Id,
        "SyncToken": Customer.get(pagers[2].Id, qb=conn.qb).SyncToken,
        "sparse": True,
        "Notes": "changed for cdc",
    }
    conn.qb.update_object("Customer", json.dumps(body))
    inv = {
        "CustomerRef": {"value": pagers[2].Id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 9,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    created = conn.raw("POST", "invoice", json=inv).json()["Invoice"]
    conn.raw(
        "POST",
        "invoice",
        params={"operation": "delete"},
        json={"Id": created["Id"], "SyncToken": created["SyncToken"]},
    )
    result = change_data_capture([Customer, Invoice], marker, qb=conn.qb)
    assert "Pager 03" in [c.DisplayName for c in result.Customer]
    raw = conn.raw("GET", "cdc", params={"entities": "Invoice", "changedSince": marker}).json()
    invoices = raw["CDCResponse"][0]["QueryResponse"][0]["Invoice"]
    assert {"Id": created["Id"], "status": "Deleted"}.items() <= invoices[-1].items()
    old = conn.raw("GET", "cdc", params={"entities": "Customer", "changedSince": "2001-01-01"})
    assert old.status_code == 400


def test_filtering_on_an_unknown_property_is_400(conn: Connected) -> None:
    error = fault(conn, "SELECT * FROM Customer WHERE NoSuchProperty = 'a'")
    assert error["code"] == "4001"
    assert fault(conn, "SELECT * FROM Invoice ORDERBY Nonsense")["code"] == "4001"
    assert query(conn, "SELECT * FROM Customer WHERE PrimaryEmailAddr.Address = 'x@y.test'") == {}


def test_batch_option_allowduplicatedocnum(conn: Connected) -> None:
    """Field notes §1a row 11: the batch form of `include=allowduplicatedocnum`."""
    owner = Customer.where("DisplayName = 'Pager 06'", qb=conn.qb)[0]
    inv = {
        "CustomerRef": {"value": owner.Id},
        "DocNumber": "LEGACY-7",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 3,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    first = conn.raw("POST", "invoice", json=inv).json()["Invoice"]
    items = [
        {"bId": "plain", "operation": "create", "Invoice": inv},
        {
            "bId": "str",
            "operation": "create",
            "optionsData": "allowduplicatedocnum",
            "Invoice": inv,
        },
        {
            "bId": "list",
            "operation": "create",
            "optionsData": ["AllowDuplicateDocNum"],
            "Invoice": inv,
        },
        {"bId": "bad", "operation": "create", "optionsData": "nonsense", "Invoice": inv},
    ]
    answer = conn.raw("POST", "batch", json={"BatchItemRequest": items}).json()
    by_bid = {r["bId"]: r for r in answer["BatchItemResponse"]}
    assert by_bid["plain"]["Fault"]["Error"][0]["code"] == "6140"
    assert f"TxnId={first['Id']}" in by_bid["plain"]["Fault"]["Error"][0]["Detail"]
    assert by_bid["str"]["Invoice"]["DocNumber"] == "LEGACY-7"
    assert by_bid["list"]["Invoice"]["DocNumber"] == "LEGACY-7"
    assert by_bid["bad"]["Fault"]["Error"][0]["code"] == "2170"
    numbered = Invoice.where("DocNumber = 'LEGACY-7'", qb=conn.qb)
    assert sorted(i.Id for i in numbered) == sorted(
        [first["Id"], by_bid["str"]["Invoice"]["Id"], by_bid["list"]["Invoice"]["Id"]]
    )
