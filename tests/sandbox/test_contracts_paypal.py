"""Every PayPal Payouts answer the emulator gives paypalrestsdk, checked against PayPal's OpenAPI
document (``contracts/paypal``; :mod:`paypal_contract`): each operation, its success and its
error answers, every item status the emulator produces, and the 401 and 500 answers.

The validator's own tests (does it reject a dropped field, an invented status?) are in
``test_contract_validators.py``.
"""

from __future__ import annotations

import time

import paypalrestsdk
import pytest
import requests
from http_recording import record_exchanges
from paypal_contract import check
from paypal_payouts import payout_body
from paypalrestsdk import exceptions as pp_errors

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


def _admin(url: str, path: str, body: dict | None = None) -> dict:
    response = requests.post(f"{url}/_sandbox/payments/{path}", json=body or {}, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def api(sandbox_url: str) -> paypalrestsdk.Api:
    for path in ("reset", "faults/clear", "reset-stats"):
        _admin(sandbox_url, path)
    _admin(sandbox_url, "settings", {"processing_seconds": 0.1, "unclaimed_return_seconds": 1.5})
    clients = requests.get(f"{sandbox_url}/_sandbox/payments/clients", timeout=10).json()
    return paypalrestsdk.Api(
        {
            "mode": "sandbox",
            "client_id": clients["paypal"]["client_id"],
            "client_secret": clients["paypal"]["client_secret"],
            "endpoint": sandbox_url,
            "token_endpoint": sandbox_url,
        }
    )


def _payout(receivers: list[str], batch_id: str | None = None, value: str = "2.50") -> dict:
    return payout_body(receivers, batch_id, value, prefix="contract")


def _settled(api: paypalrestsdk.Api, batch_id: str) -> dict:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        batch = api.get(f"v1/payments/payouts/{batch_id}")
        if batch["batch_header"]["batch_status"] not in ("PENDING", "PROCESSING"):
            return batch
        time.sleep(0.05)
    raise AssertionError("batch still PENDING or PROCESSING")


def _exercise(api: paypalrestsdk.Api, sandbox_url: str) -> set[str]:
    """Every operation, success and error; returns the item statuses seen."""
    receivers = ["paid@x.com", "a-unclaimed@x.com", "b-unclaimed@x.com"]
    receivers += ["x-unregistered@x.com", "y-blocked@x.com"]
    payout = paypalrestsdk.Payout(_payout(receivers, "contract-1"), api=api)
    assert payout.create(sync_mode=False), payout.error  # 201, PENDING
    batch_id = payout.batch_header.payout_batch_id
    api.get(f"v1/payments/payouts/{batch_id}")  # PENDING batch
    batch = _settled(api, batch_id)
    api.get(f"v1/payments/payouts/{batch_id}?page=2&page_size=2&total_required=true")
    items = {i["payout_item"]["receiver"]: i["payout_item_id"] for i in batch["items"]}
    for item_id in items.values():
        api.get(f"v1/payments/payouts-item/{item_id}")
    api.post(f"v1/payments/payouts-item/{items['a-unclaimed@x.com']}/cancel", {})  # 200
    api.post(f"v1/payments/payouts-item/{items['a-unclaimed@x.com']}/cancel", {})  # 400
    api.post(f"v1/payments/payouts-item/{items['paid@x.com']}/cancel", {})  # 400
    again = paypalrestsdk.Payout(_payout(["paid@x.com"], "contract-1"), api=api)
    assert not again.create(sync_mode=False)  # 400 USER_BUSINESS_ERROR with a link
    invalid = paypalrestsdk.Payout(_payout(["paid@x.com"], value="1.234"), api=api)
    assert not invalid.create(sync_mode=False)  # 400 VALIDATION_ERROR with details
    for missing in ("v1/payments/payouts/NOPE", "v1/payments/payouts-item/NOPE"):
        with pytest.raises(pp_errors.ResourceNotFound):
            api.get(missing)
    _admin(sandbox_url, "faults", {"provider": "paypal", "kind": "insufficient_funds"})
    denied = paypalrestsdk.Payout(_payout(["paid@x.com"]), api=api)
    assert denied.create(sync_mode=False)
    statuses = {i["transaction_status"] for i in batch["items"]}
    statuses.add(_settled(api, denied.batch_header.payout_batch_id)["batch_header"]["batch_status"])
    _admin(sandbox_url, "faults", {"provider": "paypal", "kind": "server_error"})
    with pytest.raises(pp_errors.ServerError):
        paypalrestsdk.Payout(_payout(["paid@x.com"]), api=api).create(sync_mode=False)
    requests.get(f"{sandbox_url}/v1/payments/payouts/{batch_id}", timeout=10)  # 401
    time.sleep(1.5)  # the other unclaimed item is returned
    returned = api.get(f"v1/payments/payouts-item/{items['b-unclaimed@x.com']}")
    return statuses | {returned["transaction_status"]}


def test_every_paypal_answer_is_in_the_published_contract(api, sandbox_url, monkeypatch):
    exchanges = record_exchanges(monkeypatch)
    statuses = _exercise(api, sandbox_url)

    checked = [e for e in exchanges if e.path.startswith("/v1/payments/")]
    answered = {(e.method, e.path.split("/")[3], e.status) for e in checked}
    assert answered >= {
        ("POST", "payouts", 201),
        ("POST", "payouts", 400),
        ("POST", "payouts", 500),
        ("GET", "payouts", 200),
        ("GET", "payouts", 401),
        ("GET", "payouts", 404),
        ("GET", "payouts-item", 200),
        ("GET", "payouts-item", 404),
        ("POST", "payouts-item", 200),
        ("POST", "payouts-item", 400),
    }, answered
    assert statuses >= {"SUCCESS", "UNCLAIMED", "FAILED", "BLOCKED", "RETURNED", "DENIED"}
    problems = [p for e in checked for p in check(e)]
    assert not problems, "\n".join(problems)
