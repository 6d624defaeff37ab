"""Invoice and CreditMemo: lines, totals and tax, the appended subtotal line, DocNumber rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..company import load
from ..errors import ApiFault
from ..repo import Doc, Repo
from . import ledger
from .base import Options, Rules
from .common import cents, check_length, check_lengths, enum, money, required, resolve
from .names import assign_address_ids
from .preferences import custom_txn_numbers
from .tax import total_tax

DETAIL_TYPES = (
    "SalesItemLineDetail",
    "DescriptionOnly",
    "DiscountLineDetail",
    "SubTotalLineDetail",
)
DOC_LIMIT = 21
FIRST_DOC_NUMBER = 1001


def _line_ids(old: Doc | None) -> set[str]:
    return {str(line.get("Id")) for line in (old or {}).get("Line", []) if line.get("Id")}


def build_lines(
    repo: Repo, raw: Any, old: Doc | None, ast: bool = False
) -> tuple[list[Doc], Decimal, Decimal]:
    """Validate lines; returns (lines with Id/LineNum, subtotal, discount).

    Every item line whose Amount is not Qty × UnitPrice gets its own 6070 error in one Fault.
    Under automated sales tax (`ast`) every item line is taxable whatever its TaxCodeRef says.
    """
    if not isinstance(raw, list):
        raise ApiFault("2020", "Required parameter Line is missing in the request", "Line")
    lines = [dict(x) for x in raw if isinstance(x, dict)]
    lines = [x for x in lines if x.get("DetailType") != "SubTotalLineDetail"]
    if not lines:
        raise ApiFault("2020", "Required parameter Line is missing in the request", "Line")
    known = _line_ids(old)
    next_id = max((int(i) for i in known if i.isdigit()), default=0) + 1
    subtotal = Decimal(0)
    discounts: list[Doc] = []
    bad_amounts: list[ApiFault] = []
    out: list[Doc] = []
    for position, line in enumerate(lines, start=1):
        detail_type = enum(
            required(line, "DetailType", "Line.DetailType"), DETAIL_TYPES, "Line.DetailType"
        )
        check_length(line.get("Description"), 4000, "Line.Description")
        if str(line.get("Id", "")) not in known:
            line["Id"] = str(next_id)
            next_id += 1
        line["LineNum"] = position
        line.pop("LinkedTxn", None)
        if detail_type == "SalesItemLineDetail":
            try:
                subtotal += _item_line(repo, line, ast)
            except ApiFault as fault:
                if fault.code != "6070":
                    raise
                bad_amounts.append(fault)
        elif detail_type == "DiscountLineDetail":
            discounts.append(line)
        else:
            line.pop("Amount", None)
            line.setdefault("DescriptionLineDetail", {})
            line.pop("DescriptionOnly", None)
        out.append(line)
    if bad_amounts:
        first, *rest = bad_amounts
        first.also = tuple(rest)
        raise first
    discount_total = Decimal(0)
    for line in discounts:
        detail = line.setdefault("DiscountLineDetail", {})
        if detail.get("PercentBased") is True:
            percent = money(detail.get("DiscountPercent"), "DiscountLineDetail.DiscountPercent")
            line["Amount"] = cents(subtotal * percent / 100)
        else:
            line["Amount"] = cents(money(line.get("Amount"), "Line.Amount"))
        if detail.get("DiscountAccountRef"):
            _, detail["DiscountAccountRef"] = resolve(
                repo, "Account", detail["DiscountAccountRef"], "DiscountAccountRef"
            )
        discount_total += line["Amount"]
    subtotal = cents(subtotal)
    out.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return out, subtotal, discount_total


def _item_line(repo: Repo, line: Doc, ast: bool) -> Decimal:
    detail = line.get("SalesItemLineDetail")
    if not isinstance(detail, dict):
        detail = {}
    line["SalesItemLineDetail"] = detail
    supplied = line.get("Amount")
    amount = cents(money(supplied, "Line.Amount"))
    line["Amount"] = amount
    if not detail.get("ItemRef"):
        return Decimal(0)
    _, detail["ItemRef"] = resolve(
        repo, "Item", detail["ItemRef"], "Line.SalesItemLineDetail.ItemRef"
    )
    qty = money(detail.get("Qty"), "Qty", Decimal(0))
    price = money(detail.get("UnitPrice"), "UnitPrice", Decimal(0))
    if qty != 0 and price != 0 and cents(qty * price) != amount:
        raise ApiFault(
            "6070",
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
            "Line.Amount",
        )
    if qty == 0:
        detail.pop("Qty", None)
    if price == 0 and qty == 0:
        detail.pop("UnitPrice", None)
    for key in ("ServiceDate", "TaxInclusiveAmt"):
        if detail.get(key) in ("", 0, None):
            detail.pop(key, None)
    if ast:
        detail["TaxCodeRef"] = {"value": "TAX"}
    else:
        detail.setdefault("TaxCodeRef", {"value": "NON"})
    return amount


class SalesRules(Rules):
    """Shared by Invoice and CreditMemo (`balance_field` differs)."""

    deletable = True
    posts_to_books = True
    read_only = (
        "TotalAmt",
        "Balance",
        "HomeBalance",
        "HomeTotalAmt",
        "RemainingCredit",
        "LinkedTxn",
        "Deposit",
        "InvoiceLink",
    )

    def __init__(self, kind: str, balance_field: str, voidable: bool) -> None:
        self.kind = kind
        self.balance_field = balance_field
        self.voidable = voidable

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        customer, doc["CustomerRef"] = resolve(
            repo, "Customer", required(doc, "CustomerRef"), "CustomerRef"
        )
        settings = load(repo.conn, repo.realm_id)
        lines, subtotal, discount = build_lines(
            repo, doc.get("Line"), old, settings.automated_sales_tax
        )
        doc["Line"] = lines
        tax = total_tax(settings, doc, subtotal, opts.sent)
        total = cents(subtotal - discount + tax)
        if total < 0:
            raise ApiFault(
                "6000", f"Transaction amount must be 0 or more. Total={total}", "TotalAmt"
            )
        check_lengths(doc, {"CustomerMemo.value": 1000, "PrivateNote": 4000, "PONumber": 15})
        assign_address_ids(repo, doc, ("BillAddr", "ShipAddr"))
        doc["TxnDate"] = str(doc.get("TxnDate") or repo.clock.today())
        if self.kind == "Invoice":
            doc["DueDate"] = str(doc.get("DueDate") or doc["TxnDate"])
            doc.setdefault("PrintStatus", "NotSet")
            doc.setdefault("EmailStatus", "NotSet")
            doc["Deposit"] = 0
        for field in ("ShipDate",):
            if not doc.get(field):
                doc.pop(field, None)
        self._doc_number(repo, doc, old, opts)
        applied = Decimal(0)
        if old is not None:
            old_customer = str(old["CustomerRef"]["value"])
            applied = ledger.applied_to(repo, old_customer, (self.kind, old["Id"]), None)
            if applied and old_customer != customer["Id"]:
                raise ApiFault("6000", "A transaction with payments applied cannot change customer")
            if total < applied:
                raise ApiFault(
                    "6000",
                    f"The new total {total} is less than the {applied} already paid or applied",
                    "TotalAmt",
                )
        doc["TotalAmt"] = total
        doc[self.balance_field] = cents(total - applied)
        doc.pop("LinkedTxn", None)
        if old is not None:
            linked = ledger.payments_linking(repo, customer["Id"], (self.kind, old["Id"]))
            if linked:
                doc["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"} for pid in linked]
        if self.kind == "CreditMemo":
            doc["Balance"] = doc[self.balance_field]
        doc["CurrencyRef"] = {"value": "USD", "name": "United States Dollar"}
        doc.pop("ExchangeRate", None)
        return doc

    def _doc_number(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> None:
        number = str(doc.get("DocNumber") or "").strip()
        auto = doc.pop("AutoDocNumber", None) in (True, "true") or number == "AUTO_GENERATE"
        if not number and old is not None and old.get("DocNumber") and not auto:
            number = str(old["DocNumber"])
        if auto or (not number and not custom_txn_numbers(repo)):
            number = self._next_number(repo)
        if not number:
            doc.pop("DocNumber", None)
            return
        check_length(number, DOC_LIMIT, "DocNumber")
        doc["DocNumber"] = number
        if opts.allow_duplicate_docnum:
            return
        for _kind, other_id in repo.holders((self.kind,), number.casefold()):
            if other_id != str(doc.get("Id")):
                raise ApiFault(
                    "6140",
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={number} is assigned to "
                    f"TxnType={self.kind} with TxnId={other_id}",
                    "DocNumber",
                )

    def _next_number(self, repo: Repo) -> str:
        while True:
            candidate = str(repo.next_value(f"doc:{self.kind}", FIRST_DOC_NUMBER))
            if not repo.holders((self.kind,), candidate.casefold()):
                return candidate

    def after(self, repo: Repo, doc: Doc | None, old: Doc | None) -> None:
        customers = {str(d["CustomerRef"]["value"]) for d in (doc, old) if d is not None}
        for customer_id in sorted(customers):
            ledger.recompute(repo, customer_id)

    def check_delete(self, repo: Repo, old: Doc) -> None:
        self._unlinked(repo, old, "deleted")

    def _unlinked(self, repo: Repo, old: Doc, verb: str) -> None:
        key = (self.kind, old["Id"])
        linked = ledger.payments_linking(repo, str(old["CustomerRef"]["value"]), key)
        if linked:
            raise ApiFault(
                "6000",
                f"This {self.kind} has payments or credits applied (Payment Id "
                f"{', '.join(linked)}) and cannot be {verb}; remove them from the payment first.",
            )

    def void(self, repo: Repo, old: Doc) -> Doc:
        self._unlinked(repo, old, "voided")
        for line in old.get("Line", []):
            if "Amount" in line:
                line["Amount"] = Decimal("0.00")
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict):
                detail.pop("Qty", None)
        old["TotalAmt"] = Decimal("0.00")
        old[self.balance_field] = Decimal("0.00")
        old["PrivateNote"] = "Voided"
        return old
