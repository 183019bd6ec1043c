"""What PayPal refuses in a payouts create request, as ``details`` of a 400 ``VALIDATION_ERROR``.

Follows the create request of https://developer.paypal.com/docs/api/payments.payouts-batch/v1/
(``sender_batch_header`` with ``sender_batch_id`` ≤ 256 characters and a ``recipient_type`` of
EMAIL, PHONE or PAYPAL_ID; 1 to 15,000 ``items``, each with an ``amount`` whose ``value`` is a
string with at most two decimals and whose ``currency`` is a three-letter code, a ``receiver``,
and an optional ``sender_item_id`` ≤ 63 characters).

Assumption: every problem is reported (up to the first 100), in request order, with the
sandbox's own ``issue`` texts.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sandbox.payments.errors import detail
from sandbox.payments.request_parsing import CURRENCY

PAYPAL_MAX_ITEMS = 15_000
_PAYPAL_VALUE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_RECIPIENT_TYPES = ("EMAIL", "PHONE", "PAYPAL_ID")


def validate_payout(body: Any) -> list[dict]:
    """PayPal-style ``details`` for everything wrong with a create request (first 100)."""
    if not isinstance(body, dict):
        return [detail("body", "Request body must be a JSON object")]
    details = _header_problems(body.get("sender_batch_header"))
    items = body.get("items")
    if not isinstance(items, list) or not items:
        details.append(detail("items", "Batch must contain at least 1 item."))
        return details
    if len(items) > PAYPAL_MAX_ITEMS:
        details.append(
            detail("items", f"Batch size exceeds the maximum of {PAYPAL_MAX_ITEMS} items.")
        )
        return details
    for index, item in enumerate(items):
        if len(details) >= 100:
            break
        details += _item_problems(f"items[{index}]", item)
    return details


def _header_problems(header: Any) -> list[dict]:
    if not isinstance(header, dict):
        return [detail("sender_batch_header", "Required field is missing.")]
    details = []
    batch_id = header.get("sender_batch_id")
    if not isinstance(batch_id, str) or not batch_id:
        details.append(detail("sender_batch_header.sender_batch_id", "Required field is missing."))
    elif len(batch_id) > 256:
        details.append(
            detail(
                "sender_batch_header.sender_batch_id",
                "Length of sender_batch_id exceeds the maximum of 256 characters.",
            )
        )
    if header.get("recipient_type", "EMAIL") not in _RECIPIENT_TYPES:
        details.append(
            detail("sender_batch_header.recipient_type", "Value is not a valid recipient type.")
        )
    return details


def _item_problems(where: str, item: Any) -> list[dict]:
    if not isinstance(item, dict):
        return [detail(where, "Item must be a JSON object.")]
    details = _amount_problems(where, item.get("amount"))
    receiver = item.get("receiver")
    if not isinstance(receiver, str) or not receiver.strip():
        details.append(detail(f"{where}.receiver", "Required field is missing."))
    sender_item_id = item.get("sender_item_id")
    if sender_item_id is not None and (
        not isinstance(sender_item_id, str) or len(sender_item_id) > 63
    ):
        details.append(
            detail(f"{where}.sender_item_id", "Length of sender_item_id exceeds 63 characters.")
        )
    if item.get("recipient_type", "EMAIL") not in _RECIPIENT_TYPES:
        details.append(detail(f"{where}.recipient_type", "Value is not a valid recipient type."))
    return details


def _amount_problems(where: str, amount: Any) -> list[dict]:
    if not isinstance(amount, dict):
        return [detail(f"{where}.amount", "Required field is missing.")]
    details = []
    value = amount.get("value")
    if not isinstance(value, str) or not _PAYPAL_VALUE.match(value):
        details.append(
            detail(
                f"{where}.amount.value",
                "Value must be a string with at most 2 decimal places.",
            )
        )
    elif Decimal(value) <= 0:
        details.append(detail(f"{where}.amount.value", "Value must be greater than 0."))
    if not isinstance(amount.get("currency"), str) or not CURRENCY.match(amount["currency"]):
        details.append(
            detail(f"{where}.amount.currency", "Currency code should be a three-letter code.")
        )
    return details
