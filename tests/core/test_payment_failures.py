"""Issue 21: a failure's side, from the provider's words; an unknown reason is ours, so a
collector is never sent to change details that were fine, and the reason is never quoted."""

from __future__ import annotations

import pytest

from collector.core.payment_failures import OURS, RECEIVER, collector_words


@pytest.mark.parametrize(
    ("provider", "status", "reason", "side"),
    [
        ("paypal", "failed", "RECEIVER_UNREGISTERED: Receiver is unregistered", RECEIVER),
        ("paypal", "failed", "RECEIVER_UNCONFIRMED: Receiver is unconfirmed", RECEIVER),
        ("paypal", "failed", "RECEIVER_ACCOUNT_LOCKED: locked", RECEIVER),
        ("paypal", "failed", "RECEIVER_COUNTRY_NOT_ALLOWED", RECEIVER),
        ("payoneer", "failed", "Payee is not registered or not active", RECEIVER),
        ("payoneer", "failed", "PayeeNotRegistered", RECEIVER),
        ("paypal", "returned", None, RECEIVER),
        ("paypal", "failed", "PayPal denied the batch: INSUFFICIENT_FUNDS: Sender ...", OURS),
        ("paypal", "failed", "PayPal denied the batch", OURS),
        ("payoneer", "failed", "Payoneer refused cp261116po1 (HTTP 400): Insufficient funds", OURS),
        ("paypal", "failed", "SENDER_ACCOUNT_LOCKED: our account is locked", OURS),
        ("paypal", "failed", "something new", OURS),
        ("paypal", "failed", None, OURS),
    ],
)
def test_sides(provider, status, reason, side):
    words = collector_words(provider, status, reason)
    assert words.side == side
    assert reason is None or reason not in words.why
    for internal in ("INSUFFICIENT", "cp26", "HTTP", "denied", "batch"):
        assert internal not in words.why
