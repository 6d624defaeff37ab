"""The run history, a run's page and a record's timeline, over real runs against the emulator:
a push, an edit in the CRM and a second push with a receipt QuickBooks refuses, a run with
nothing to do, a preview. Every route needs a signed-in user; unknown ids and kinds are 404."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from qbo_emulator.testing import EmulatorProcess
from qbo_sync.admin.history import EVENTS_PER_PAGE
from qbo_sync.models import (
    DocKind,
    EventKind,
    RecordStatus,
    RunStatus,
    SyncDocument,
    SyncEvent,
    SyncProfile,
    SyncRun,
)

from crm.models import Receipt, SaleLine, db
from tests.admin_page.conftest import PAGE, connected_profile, page, post
from tests.conftest import OFFICE_ZONE, PHASE_LINES
from tests.engine.conftest import books, work

ROUTES = ("history/{company}", "runs/{run}", "timeline/sale/{sale}")


def _local(value: datetime) -> str:
    """The office's reading of a stored time, worked out here independently of the plugin."""
    return value.astimezone(ZoneInfo(OFFICE_ZONE)).strftime("%-m/%-d/%Y %-I:%M %p")


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _get(client: FlaskClient, path: str) -> str:
    resp = client.get(f"{PAGE}{path}")
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def _doc(kind: DocKind, local_id: int) -> SyncDocument:
    doc = db.session.scalar(sa.select(SyncDocument).filter_by(kind=kind, local_id=str(local_id)))
    assert doc is not None
    return doc


def _events() -> int:
    return int(db.session.scalar(sa.select(sa.func.count(SyncEvent.id))) or 0)


def _latest_run() -> SyncRun:
    run = db.session.scalar(sa.select(SyncRun).order_by(SyncRun.id.desc()))
    assert run is not None
    return run


def _sync(client: FlaskClient, profile: SyncProfile) -> SyncRun:
    post(client, f"{PAGE}{profile.id}/sync")
    work()
    db.session.expire_all()
    return _latest_run()


def _receipt(shop: dict[str, int], number: str, amount: str) -> Receipt:
    first = db.session.get(Receipt, shop["receipt"])
    assert first is not None
    receipt = Receipt(
        number=number,
        kind="receipt",
        customer_id=shop["customer"],
        sale_id=shop["sale"],
        received_on=first.received_on,
        payment_method="Check",
        amount=Decimal(amount),
    )
    db.session.add(receipt)
    db.session.commit()
    return receipt


def test_every_route_needs_a_signed_in_user(client: FlaskClient) -> None:
    for route in ROUTES:
        resp = client.get(PAGE + route.format(company=1, run=1, sale=1))
        assert resp.status_code == 302, route
        assert "/login" in resp.headers["Location"]


def test_unknown_ids_and_kinds_are_not_found(signed_in: FlaskClient, shop: dict[str, int]) -> None:
    for path in (
        "history/999",
        "runs/999",
        "timeline/sale/999",
        "timeline/product/1",
        "timeline/invoice/1",
        "timeline/nonsense/1",
    ):
        assert signed_in.get(f"{PAGE}{path}").status_code == 404, path
    # a known record with nothing pushed yet has an (empty) timeline
    html = _get(signed_in, f"timeline/sale/{shop['sale']}")
    assert "QuickBooks history: Sale S409 (William Smith)" in _text(html)
    assert "Nothing has happened to this record in QuickBooks yet." in html


def test_timeline_run_page_and_history_after_an_edit_and_a_refusal(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = connected_profile(signed_in, emulator)
    first = _sync(signed_in, profile)
    assert first.status is RunStatus.SUCCEEDED and first.started_by == "office"

    # The sale grows from 10 to 12 squares (1,000.00 to 1,200.00); the bookkeeper enters a
    # payment of 500.00 by hand in QuickBooks, so a new receipt of 500.00 is more than
    # QuickBooks still has open (1,200.00 - 400.00 - 500.00), and a receipt of 0.00 cannot be
    # sent at all.
    line = db.session.scalar(sa.select(SaleLine).filter_by(sale_id=shop["sale"]))
    assert line is not None
    line.quantity = Decimal("12")
    db.session.commit()
    reader = books(emulator, "Company A")
    invoice, customer = (
        _doc(DocKind.INVOICE, shop["sale"]),
        _doc(DocKind.CUSTOMER, shop["customer"]),
    )
    reader.create(
        "Payment",
        {
            "CustomerRef": {"value": customer.qbo_id},
            "TotalAmt": "500.00",
            "Line": [
                {"Amount": "500.00", "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]}
            ],
        },
    )
    over = _receipt(shop, "R900", "500.00")
    zero = _receipt(shop, "R901", "0.00")
    second = _sync(signed_in, profile)
    assert second.status is RunStatus.PARTIAL
    refused = _doc(DocKind.PAYMENT, over.id)
    assert refused.status is RecordStatus.FAILED and refused.error_code == "6000"
    assert refused.intuit_tid
    assert _doc(DocKind.INVOICE, shop["sale"]).qbo_id == invoice.qbo_id

    # The sale's timeline: created, then updated with the field that changed; newest first
    html = _get(signed_in, f"timeline/sale/{shop['sale']}")
    text = _text(html)
    assert "QuickBooks history: Sale S409 (William Smith)" in text
    rows = re.findall(
        r'<tr class="qbo-event qbo-event-(\w+)">(.*?)</tr>\s*(?=<tr class="qbo-e|</tbody>)',
        html,
        re.S,
    )
    invoice_rows = [(what, _text(body)) for what, body in rows if "Sale S409" in body]
    sent = [body for what, body in invoice_rows if what == "sent"]
    assert len(sent) == 2
    assert "update" in sent[0] and "Line.0.Amount 1000.00 → 1200.00" in sent[0]
    assert "Line.0.SalesItemLineDetail.Qty 10.00 → 12.00" in sent[0]
    assert "create" in sent[1] and "created" in sent[1]
    assert [w for w, _ in invoice_rows].count("written") == 2
    written = db.session.scalars(
        sa.select(SyncEvent)
        .filter_by(kind=DocKind.INVOICE, event=EventKind.WRITTEN)
        .order_by(SyncEvent.id)
    ).all()
    assert [e.run_id for e in written] == [first.id, second.id]
    for event in written:
        assert _local(event.at) in html  # in the office's zone, "12/1/2026 3:31 AM"
    workbook = f"{emulator.base_url}/app/{reader.realm}/invoice/{invoice.qbo_id}"
    assert f'href="{workbook}"' in html
    assert f'href="/admin/qbo/runs/{second.id}"' in html
    # the sale's receipts are on its timeline too
    assert "Receipt R900" in text and "Receipt R003" in text

    # The refused receipt's timeline: the refusal with QuickBooks' code and intuit_tid
    html = _get(signed_in, f"timeline/receipt/{over.id}")
    text = _text(html)
    assert "QuickBooks history: Receipt R900" in text
    assert "failed 6000" in text and refused.intuit_tid in html
    assert "is more than its open Balance" in text
    assert "sent" in text and str(refused.error_request_id) in html
    # the receipt that cannot be sent failed before sending: plain words, no request
    assert "non-positive amount" in _text(_get(signed_in, f"timeline/receipt/{zero.id}"))

    # The second run's page: its phase lines, its plan as executed and its failures
    html = _get(signed_in, f"runs/{second.id}")
    text = _text(html)
    for words in PHASE_LINES:
        assert words in text
    assert "finished with problems" in text and "admin page (office)" in text
    assert re.search(r"update \(\d+\)", text)
    plan_update = html.split('data-operation="update"')[1].split("</table>")[0]
    assert f'href="/admin/qbo/timeline/sale/{shop["sale"]}"' in plan_update
    assert "Line.0.Amount" in plan_update
    failures = html.split("qbo-run-failures")[1].split("</table>")[0]
    assert "Receipt R900" in failures and "6000" in failures and refused.intuit_tid in failures
    assert "Receipt R901" in failures
    assert second.stats and f"requests: {second.stats['requests']}" in text

    # Nothing changed since: a third run writes no event at all
    db.session.delete(db.session.get(Receipt, over.id))
    db.session.commit()
    before = _events()
    third = _sync(signed_in, profile)
    assert third.status is RunStatus.PARTIAL  # R901 still cannot be sent
    assert _events() == before
    # its page still lists what it left failed, told by the earlier run's event
    failures = _get(signed_in, f"runs/{third.id}").split("qbo-run-failures")[1].split("</table>")[0]
    assert "Receipt R901" in failures and "non-positive amount" in _text(failures)
    assert _doc(DocKind.PAYMENT, zero.id).status is RecordStatus.FAILED

    # The company's history: the three runs, newest first, with counts and who started them
    html = _get(signed_in, f"history/{profile.company_id}")
    runs = re.findall(r'data-run="(\d+)"', html)
    assert runs == [str(third.id), str(second.id), str(first.id)]
    text = _text(html)
    assert text.count("admin page (office)") == 3
    assert "Sale Synchronization: 1 created, 0 updated" in text  # the first run
    assert "Sale Synchronization: 0 created, 1 updated" in text  # the second
    assert "Receipt Synchronization: 0 created, 0 updated, 0 unchanged, 2 failed" in text
    assert _local(first.started_at) in html
    assert f"{first.stats['requests']} requests" in text  # type: ignore[index]
    assert f'href="/admin/qbo/runs/{first.id}"' in html
    assert "Run history" in page(signed_in)  # the card links to it
    assert f'href="/admin/qbo/history/{profile.company_id}"' in page(signed_in)

    # A preview records what it would change, and nothing else
    line.quantity = Decimal("13")
    db.session.commit()
    before = _events()
    resp = signed_in.get(f"{PAGE}{profile.id}/preview")
    assert resp.status_code == 200
    previewed = db.session.scalars(
        sa.select(SyncEvent).where(SyncEvent.id > 0, SyncEvent.event == EventKind.PREVIEWED)
    ).all()
    assert _events() == before + len(previewed)
    assert {(e.kind, e.local_id, e.run_id) for e in previewed} >= {
        (DocKind.INVOICE, str(shop["sale"]), None)
    }
    text = _text(_get(signed_in, f"timeline/sale/{shop['sale']}"))
    assert "preview Sale S409 (William Smith) previewed" in text
    assert "update Invoice for sale S409" in text


@pytest.mark.parametrize("kind", ["customer", "sale", "receipt"])
def test_the_crm_lists_link_each_row_to_its_timeline(
    signed_in: FlaskClient, shop: dict[str, int], kind: str
) -> None:
    resp = signed_in.get(f"/admin/{kind}/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    local_id = shop[kind]
    assert f'href="/admin/qbo/timeline/{kind}/{local_id}"' in html
    assert 'title="QuickBooks history"' in html


def test_a_long_timeline_is_paged_newest_first(
    signed_in: FlaskClient, shop: dict[str, int], emulator: EmulatorProcess
) -> None:
    profile = connected_profile(signed_in, emulator)
    _sync(signed_in, profile)
    # sixty small payments on the sale: each is sent and written, on the sale's timeline
    for n in range(60):
        _receipt(shop, f"R{600 + n}", "1.00")
    assert _sync(signed_in, profile).status is RunStatus.SUCCEEDED
    mine = sa.or_(
        sa.and_(SyncEvent.kind == DocKind.INVOICE, SyncEvent.local_id == str(shop["sale"])),
        SyncEvent.sale_id == str(shop["sale"]),
    )
    total = int(db.session.scalar(sa.select(sa.func.count(SyncEvent.id)).where(mine)) or 0)
    assert EVENTS_PER_PAGE < total <= 2 * EVENTS_PER_PAGE  # 60 x (sent, written) and the first run

    def shown(page: int) -> tuple[list[str], str]:
        html = _get(signed_in, f"timeline/sale/{shop['sale']}?page={page}")
        return re.findall(r'<tr class="qbo-event qbo-event-(\w+)"', html), _text(html)

    first, text = shown(1)
    assert len(first) == EVENTS_PER_PAGE and first[0] == "written"  # newest first
    assert "Receipt R659" in text and "Page 1 of 2" in text and "Older" in text
    second, text = shown(2)
    assert len(second) == total - EVENTS_PER_PAGE
    assert second[-1] == "sent"  # the oldest: the first run's first request, on the last page
    assert "Receipt R003" in text and "Page 2 of 2" in text and "Newer" in text
    assert shown(3)[0] == []  # past the end: an empty page, not an error
