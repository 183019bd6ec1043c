"""What PayPal refuses in a payouts create request, as ``details`` of a 400 ``VALIDATION_ERROR``.

Follows the create request of https://developer.paypal.com/docs/api/payments.payouts-batch/v1/
(``sender_batch_header`` with ``sender_batch_id`` ≤ 256 characters and a ``recipient_type`` of
EMAIL, PHONE or PAYPAL_ID; 1 to 15,000 ``items``, each with an ``amount`` whose ``value`` is a
string with at most two decimals and whose ``currency`` is a three-letter code, a ``receiver``,
and an optional ``sender_item_id`` ≤ 63 characters).

Also from PayPal's published OpenAPI document (``payout_item``, ``sender_batch_header``): a
``receiver`` is at most 127 characters; ``note`` ≤ 4000, ``recipient_wallet`` one of PAYPAL,
VENMO, RECIPIENT_SELECTED; header ``email_subject`` ≤ 255, ``email_message`` and ``note`` ≤ 1000.
An item's ``recipient_type`` is its own, else the header's, else EMAIL.

Assumptions:

- Every problem is reported (up to the first 100), in request order, with the sandbox's own
  ``issue`` texts, as 400 ``VALIDATION_ERROR`` with ``details``.
- A receiver's 127 "single-byte characters" are counted as UTF-8 bytes (issue 21), so an
  internationalized address (PayPal's own ``email_address`` type is documented as "the
  internationalized email address") passes only while it fits in 127 bytes.
- An EMAIL receiver has one ``@``, no whitespace, a dotted domain, and no control, format
  (zero-width, bidi), private-use or unassigned character, and no fullwidth or other
  compatibility form (one that NFKC changes): never kinder than ``collector.payouts.profiles``,
  whose every accepted address this accepts (tests/sandbox/test_receivers_sandbox.py). A
  PAYPAL_ID receiver is 13 uppercase letters or digits (the form of PayPal account ids we have
  seen).
- A PHONE receiver is not checked at create: the contract says the API does not immediately
  validate receiver phone numbers (and PayPal's own sandbox does not support PHONE).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from sandbox.payments.errors import detail
from sandbox.payments.request_parsing import CURRENCY

PAYPAL_MAX_ITEMS = 15_000
_PAYPAL_VALUE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_RECIPIENT_TYPES = ("EMAIL", "PHONE", "PAYPAL_ID")  # the contract's recipient_enum
_WALLETS = ("PAYPAL", "VENMO", "RECIPIENT_SELECTED")  # recipient_wallet_enum
PAYPAL_MAX_RECEIVER = 127  # payout_item.receiver maxLength (EMAIL: 127 single-byte characters)
_NOT_IN_AN_ADDRESS = ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs")
# One @, no spaces, a dotted domain: what an email receiver must look like (an assumption).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PAYPAL_ID = re.compile(r"^[A-Z0-9]{13}$")  # a PayPal account (payer) id: an assumption
_ITEM_LENGTHS = {"note": 4000, "recipient_wallet": 36}
_HEADER_LENGTHS = {"email_subject": 255, "email_message": 1000, "note": 1000}


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
    header = body.get("sender_batch_header")
    default_type = header.get("recipient_type") if isinstance(header, dict) else None
    for index, item in enumerate(items):
        if len(details) >= 100:
            break
        details += _item_problems(f"items[{index}]", item, default_type or "EMAIL")
    return details[:100]


def _receiver_problems(where: str, receiver: Any, kind: Any) -> list[dict]:
    """The receiver as its recipient type requires (any type: 1 to 127 characters)."""
    if not isinstance(receiver, str) or not receiver.strip():
        return [detail(where, "Required field is missing.")]
    if len(receiver.encode("utf-8", "surrogatepass")) > PAYPAL_MAX_RECEIVER:
        return [detail(where, f"Receiver exceeds the maximum length of {PAYPAL_MAX_RECEIVER}.")]
    if kind == "EMAIL" and not (_EMAIL.match(receiver) and _plain_characters(receiver)):
        return [detail(where, "Receiver is not a valid email address.")]
    if kind == "PAYPAL_ID" and not _PAYPAL_ID.match(receiver):
        return [detail(where, "Receiver is not a valid PayPal account ID.")]
    return []


def _plain_characters(text: str) -> bool:
    """No invisible, control, unassigned or compatibility character (see the assumptions)."""
    return all(
        unicodedata.category(ch) not in _NOT_IN_AN_ADDRESS
        and unicodedata.normalize("NFKC", ch) == ch
        for ch in text
    )


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
    for name, ceiling in _HEADER_LENGTHS.items():
        value = header.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > ceiling):
            details.append(
                detail(
                    f"sender_batch_header.{name}",
                    f"Length of {name} exceeds {ceiling} characters.",
                )
            )
    return details


def _item_problems(where: str, item: Any, default_type: str) -> list[dict]:
    if not isinstance(item, dict):
        return [detail(where, "Item must be a JSON object.")]
    details = _amount_problems(where, item.get("amount"))
    kind = item.get("recipient_type", default_type)
    details += _receiver_problems(f"{where}.receiver", item.get("receiver"), kind)
    for name, ceiling in _ITEM_LENGTHS.items():
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > ceiling):
            details.append(
                detail(f"{where}.{name}", f"Length of {name} exceeds {ceiling} characters.")
            )
    wallet = item.get("recipient_wallet", "PAYPAL")
    if wallet not in _WALLETS:
        details.append(detail(f"{where}.recipient_wallet", "Value is not a valid wallet."))
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
