"""Payment: applying to invoices and credit memos, unapplied amounts, deposit account, void."""

from __future__ import annotations

from decimal import Decimal

from ..errors import ApiFault
from ..repo import Doc, Repo
from . import ledger
from .base import Options, Rules
from .common import cents, check_lengths, enum, money, ref_value, required, resolve

DEPOSIT_TYPES = ("Bank", "Other Current Asset")


def undeposited_funds(repo: Repo) -> dict[str, str]:
    for account in repo.all("Account"):
        if account.get("AccountSubType") == "UndepositedFunds":
            return {"value": account["Id"], "name": account["Name"]}
    raise ApiFault("6000", "The company has no Undeposited Funds account")


class PaymentRules(Rules):
    kind = "Payment"
    deletable = True
    voidable = True
    posts_to_books = True
    read_only = ("UnappliedAmt", "HomeTotalAmt")

    def prepare(self, repo: Repo, doc: Doc, old: Doc | None, opts: Options) -> Doc:
        customer, doc["CustomerRef"] = resolve(
            repo, "Customer", required(doc, "CustomerRef"), "CustomerRef"
        )
        total = cents(money(doc.get("TotalAmt"), "TotalAmt"))
        if total < 0:
            raise ApiFault("6000", "Payment amount (TotalAmt) cannot be negative", "TotalAmt")
        doc["TotalAmt"] = total
        check_lengths(doc, {"PaymentRefNum": 21, "PrivateNote": 4000})
        doc["TxnDate"] = str(doc.get("TxnDate") or repo.clock.today())
        if doc.get("DepositToAccountRef"):
            account, doc["DepositToAccountRef"] = resolve(
                repo, "Account", doc["DepositToAccountRef"], "DepositToAccountRef"
            )
            if account.get("AccountType") not in DEPOSIT_TYPES:
                raise ApiFault(
                    "6000",
                    "DepositToAccountRef must be a bank or other current asset account",
                    "DepositToAccountRef",
                )
        else:
            doc["DepositToAccountRef"] = undeposited_funds(repo)
        if doc.get("PaymentMethodRef"):
            _, doc["PaymentMethodRef"] = resolve(
                repo, "PaymentMethod", doc["PaymentMethodRef"], "PaymentMethodRef"
            )
        if doc.get("ARAccountRef"):
            _, doc["ARAccountRef"] = resolve(repo, "Account", doc["ARAccountRef"], "ARAccountRef")
        applied = self._lines(repo, doc, customer["Id"], old)
        if applied > total:
            raise ApiFault(
                "6000",
                f"The amount received ({total}) is less than the amount applied ({applied}).",
                "TotalAmt",
            )
        doc["UnappliedAmt"] = cents(total - applied)
        doc["ProcessPayment"] = False
        doc["CurrencyRef"] = {"value": "USD", "name": "United States Dollar"}
        doc.pop("ExchangeRate", None)
        return doc

    def _lines(self, repo: Repo, doc: Doc, customer_id: str, old: Doc | None) -> Decimal:
        raw = doc.get("Line") or []
        if not isinstance(raw, list):
            raise ApiFault("2020", "Line must be a list", "Line")
        lines: list[Doc] = []
        invoices = Decimal(0)
        credits = Decimal(0)
        seen: set[tuple[str, str]] = set()
        for line in raw:
            if not isinstance(line, dict):
                continue
            amount = cents(money(line.get("Amount"), "Line.Amount"))
            links = line.get("LinkedTxn") or []
            if amount < 0:
                raise ApiFault("6000", "Payment line amounts cannot be negative", "Line.Amount")
            if not links:
                raise ApiFault(
                    "2020", "Required parameter Line.LinkedTxn is missing", "Line.LinkedTxn"
                )
            if len(links) != 1 or not isinstance(links[0], dict):
                raise ApiFault(
                    "6000", "Each payment line links exactly one transaction", "Line.LinkedTxn"
                )
            txn_type = enum(links[0].get("TxnType"), ("Invoice", "CreditMemo"), "LinkedTxn.TxnType")
            txn_id = ref_value({"value": links[0].get("TxnId")})
            target = repo.get(txn_type, txn_id) if txn_id else None
            if target is None:
                raise ApiFault(
                    "2500",
                    f"Invalid Reference Id : {txn_type} Id={txn_id} does not exist",
                    "LinkedTxn.TxnId",
                )
            if str(target["CustomerRef"]["value"]) != customer_id:
                raise ApiFault(
                    "6000",
                    f"{txn_type} {txn_id} belongs to another customer",
                    "LinkedTxn.TxnId",
                )
            key = (txn_type, str(target["Id"]))
            if key in seen:
                raise ApiFault("6000", f"{txn_type} {txn_id} is linked twice", "LinkedTxn")
            seen.add(key)
            field = "Balance" if txn_type == "Invoice" else "RemainingCredit"
            total = money(target.get("TotalAmt"), "TotalAmt", Decimal(0))
            skip = old["Id"] if old is not None else None
            open_amount = total - ledger.applied_to(repo, customer_id, key, skip)
            if amount > open_amount:
                raise ApiFault(
                    "6000",
                    f"The amount applied to {txn_type} {txn_id} ({amount}) is more than its open "
                    f"{field} ({cents(open_amount)}).",
                    "Line.Amount",
                )
            if amount == 0:
                continue
            if txn_type == "Invoice":
                invoices += amount
            else:
                credits += amount
            lines.append(
                {"Amount": amount, "LinkedTxn": [{"TxnId": target["Id"], "TxnType": txn_type}]}
            )
        if credits > invoices:
            raise ApiFault(
                "6000",
                f"Credits applied ({credits}) exceed the invoices paid by this payment "
                f"({invoices})",
                "Line",
            )
        doc["Line"] = lines
        return invoices - credits

    def after(self, repo: Repo, doc: Doc | None, old: Doc | None) -> None:
        customers = {str(d["CustomerRef"]["value"]) for d in (doc, old) if d is not None}
        for customer_id in sorted(customers):
            ledger.recompute(repo, customer_id)

    def void(self, repo: Repo, old: Doc) -> Doc:
        old["TotalAmt"] = Decimal("0.00")
        old["UnappliedAmt"] = Decimal("0.00")
        old["Line"] = []
        old["PrivateNote"] = "Voided"
        return old
