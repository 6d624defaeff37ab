"""The back office's admin screens: list, create and edit views for every CRM table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from markupsafe import Markup
from qbo_sync.admin.record_links import QuickBooksHistoryMixin
from qbo_sync.admin.sales import SalePushMixin
from werkzeug.wrappers import Response

from .models import (
    PAYMENT_METHODS,
    RECEIPT_KINDS,
    SALE_STATUSES,
    Customer,
    MarketSegment,
    Product,
    Receipt,
    Sale,
    SaleLine,
    db,
)
from .security import csp_nonce
from .validation import (
    Cents,
    Hundredths,
    InRange,
    NotBlank,
    NotNegative,
    SingleLine,
    receipt_amount,
)


def is_signed_in() -> bool:
    return bool(current_user.is_authenticated)


def to_login() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class SignedInMixin:
    """Every admin page requires a signed-in user; others are sent to the login page."""

    def is_accessible(self) -> bool:
        return is_signed_in()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        return to_login()


class HomeView(SignedInMixin, AdminIndexView):
    @expose("/")
    def index(self) -> str:
        return self.render("admin/index.html")


def money(view: Any, context: Any, model: Any, name: str) -> Markup:
    value: Decimal = getattr(model, name)
    return Markup('<span class="text-monospace">{}</span>').format(f"{value:,.2f}")


class CRMView(SignedInMixin, ModelView):
    page_size = 50
    can_set_page_size = True


class SegmentView(CRMView):
    column_list = ("name", "created_at")
    column_searchable_list = ("name",)
    form_columns = ("name",)


class CustomerView(QuickBooksHistoryMixin, CRMView):
    column_list = (
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "city",
        "balance_due",
    )
    column_searchable_list = ("first_name", "last_name", "company_name", "email", "phone")
    column_filters = ("city", "state", "postal_code", "company_name")
    column_formatters = {"balance_due": money}
    form_args = {
        "first_name": {"validators": [NotBlank("the customer's first name")]},
        "last_name": {"validators": [NotBlank("the customer's last name")]},
    }
    form_columns = (
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "alt_phone",
        "street",
        "city",
        "state",
        "postal_code",
    )


class ProductView(CRMView):
    column_list = ("name", "sku", "unit_price")
    column_searchable_list = ("name", "sku")
    column_formatters = {"unit_price": money}
    form_columns = ("name", "sku", "unit_price")
    form_args = {
        "name": {"validators": [NotBlank("the product's name")]},
        "unit_price": {"validators": [NotNegative("Unit price"), Cents("Unit price")]},
    }


class SaleView(QuickBooksHistoryMixin, SalePushMixin, CRMView):
    column_list = (
        "number",
        "customer",
        "market_segment",
        "sold_on",
        "status",
        "amount",
        "balance_due",
        "qbo_state",  # the QuickBooks state of each sale, from qbo_sync's SalePushMixin
    )
    column_searchable_list = ("number", Customer.last_name, Customer.first_name)
    column_filters = ("sold_on", "status", "market_segment.name")
    column_default_sort = ("sold_on", True)
    column_formatters = {"amount": money, "balance_due": money}
    form_columns = ("number", "customer", "market_segment", "sold_on", "status")
    form_choices = {"status": [(s, s.title()) for s in SALE_STATUSES]}
    form_ajax_refs = {"customer": {"fields": ("first_name", "last_name", "company_name")}}
    form_args = {
        "number": {"validators": [NotBlank("a sale number"), SingleLine("The sale number")]},
        "sold_on": {"validators": [InRange("Sold on")]},
    }
    inline_models = (
        (
            SaleLine,
            {
                "form_columns": ("id", "product", "description", "quantity", "unit_price"),
                "form_args": {
                    "quantity": {"validators": [NotNegative("Quantity"), Hundredths()]},
                    "unit_price": {"validators": [NotNegative("Unit price"), Cents("Unit price")]},
                },
            },
        ),
    )


class ReceiptView(QuickBooksHistoryMixin, CRMView):
    column_list = ("number", "kind", "customer", "sale", "received_on", "payment_method", "amount")
    column_searchable_list = ("number", "payment_method")
    column_filters = ("kind", "received_on", "payment_method")
    column_default_sort = ("received_on", True)
    column_formatters = {"amount": money}
    form_columns = ("number", "kind", "customer", "sale", "received_on", "payment_method", "amount")
    form_args = {
        "number": {"validators": [NotBlank("a receipt number"), SingleLine("The receipt number")]},
        "received_on": {"validators": [InRange("Received on")]},
        "amount": {"validators": [receipt_amount, Cents("Amount")]},
    }
    form_choices = {
        "kind": [(k, k.title()) for k in RECEIPT_KINDS],
        "payment_method": [(m, m) for m in PAYMENT_METHODS],
    }
    form_ajax_refs = {
        "customer": {"fields": ("first_name", "last_name", "company_name")},
        "sale": {"fields": ("number",)},
    }


def build_admin() -> Admin:
    admin = Admin(
        name="Back Office",
        theme=Bootstrap4Theme(base_template="admin/backoffice_base.html"),
        index_view=HomeView(url="/admin"),
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(CustomerView(Customer, db, name="Customers"))
    admin.add_view(SaleView(Sale, db, name="Sales"))
    admin.add_view(ReceiptView(Receipt, db, name="Receipts"))
    admin.add_view(ProductView(Product, db, name="Products", category="Setup"))
    admin.add_view(SegmentView(MarketSegment, db, name="Market Segments", category="Setup"))
    return admin
