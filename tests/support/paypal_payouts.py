"""The body of a PayPal Payouts v1 batch as the tests send it through paypalrestsdk."""

from __future__ import annotations

import uuid


def payout_body(
    receivers: list[str], batch_id: str | None = None, value: str = "2.50", prefix: str = "test"
) -> dict:
    """One EMAIL item of ``value`` USD per receiver; ``sender_batch_id`` is ``batch_id`` or a
    fresh ``<prefix>-<uuid hex>``."""
    return {
        "sender_batch_header": {
            "sender_batch_id": batch_id or f"{prefix}-{uuid.uuid4().hex}",
            "email_subject": "Your payment",
        },
        "items": [
            {
                "recipient_type": "EMAIL",
                "amount": {"currency": "USD", "value": value},
                "receiver": receiver,
                "note": "thanks",
                "sender_item_id": f"item-{n}",
            }
            for n, receiver in enumerate(receivers)
        ],
    }
