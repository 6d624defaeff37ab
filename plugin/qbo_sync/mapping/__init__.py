"""Pure functions turning CRM records into QuickBooks Online JSON: no I/O, clock or randomness."""

from .customers import MappedCustomer, disambiguated_display_name, to_qbo_customer
from .hashing import payload_hash
from .ids import batch_request_id, operation_request_id
from .items import ADJUSTMENT_ITEM_NAME, item_name, payment_method_name, to_qbo_item
from .receipts import (
    adjustment_effect,
    to_qbo_adjustment_line,
    to_qbo_credit_application,
    to_qbo_credit_memo,
    to_qbo_payment,
)
from .sales import to_qbo_invoice

__all__ = [
    "ADJUSTMENT_ITEM_NAME",
    "MappedCustomer",
    "adjustment_effect",
    "batch_request_id",
    "disambiguated_display_name",
    "item_name",
    "payment_method_name",
    "payload_hash",
    "operation_request_id",
    "to_qbo_adjustment_line",
    "to_qbo_credit_application",
    "to_qbo_credit_memo",
    "to_qbo_customer",
    "to_qbo_invoice",
    "to_qbo_item",
    "to_qbo_payment",
]
