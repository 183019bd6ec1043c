"""PayPal Payouts v1: the OAuth token, ``payouts`` (create, read a batch) and ``payouts-item``
(read an item, cancel an unclaimed one).

Follows https://developer.paypal.com/api/rest/authentication/ (client-credentials token with
HTTP Basic client id and secret) and https://developer.paypal.com/docs/api/payments.payouts-batch/v1/
(create answers 201 with a PENDING ``batch_header``; ``sender_batch_id`` reused within 30 days
is 400 ``USER_BUSINESS_ERROR`` with a link to the original batch, and after 30 days it is
forgotten: the same request creates a new batch and pays again; batch reads page their items with
``page``, ``page_size`` ≤ 1000 and ``total_required``; only UNCLAIMED items can be cancelled).
The outcome of an item is chosen by its receiver, any case: ``unclaimed`` (UNCLAIMED, then
RETURNED), ``unregistered`` (FAILED), ``blocked`` (BLOCKED), ``onhold`` (ONHOLD), anything
else SUCCESS. Later moves (claimed, released from hold, refunded, reversed) are the
``/_sandbox/payments/paypal/items/{id}/status`` switch (:mod:`~sandbox.payments.admin`).

Time is the sandbox clock (:meth:`PaymentsState.now`, moved by ``/_sandbox/payments/clock/advance``).

Assumptions:

- The 30 days are counted from the original batch's ``time_created``; at exactly 30 days it is
  already forgotten (the contract says "used in the last 30 days").
- A forgotten ``sender_batch_id``'s old batch can still be read by its ``payout_batch_id``.
- Tokens expire on real time, not on the sandbox clock (moving the clock logs nobody out).
- Cancelling an item that is not UNCLAIMED is 400 ``ITEM_ALREADY_CANCELLED`` if it is
  already RETURNED, else 400 ``ITEM_INCORRECT_STATUS``.
"""

from __future__ import annotations

import base64
import math
import os
import secrets
import time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.common import iso
from sandbox.payments.errors import (
    detail,
    link,
    paypal_error,
    paypal_invalid,
    paypal_not_found,
    paypal_server_error,
    paypal_unauthorized,
)
from sandbox.payments.faults import after_accept
from sandbox.payments.paypal_validation import validate_payout
from sandbox.payments.request_parsing import MALFORMED, basic_credentials, bearer, json_body
from sandbox.payments.state import PaymentsDep, PaymentsState

PAYPAL_MAX_PAGE_SIZE = 1000
PAYPAL_TOKEN_SECONDS = 32400
PAYPAL_DEDUPE_DAYS = 30  # "a sender_batch_id that was used in the last 30 days" (the contract)
PAYPAL_DEDUPE_SECONDS = PAYPAL_DEDUPE_DAYS * 86_400

router = APIRouter()


def _code(chars: int) -> str:
    """Uppercase alphanumeric id, from C-level randomness (15,000 of them must be cheap)."""
    return base64.b32encode(os.urandom(chars)).decode()[:chars]


def paypal_outcome(receiver: str) -> str:
    lowered = receiver.lower()
    if "unclaimed" in lowered:
        return "UNCLAIMED"
    if "unregistered" in lowered:
        return "FAILED"
    if "blocked" in lowered:
        return "BLOCKED"
    if "onhold" in lowered:
        return "ONHOLD"
    return "SUCCESS"


def remembered_batch(state: PaymentsState, sender_batch_id: str) -> str | None:
    """The ``payout_batch_id`` a ``sender_batch_id`` was used for in the last 30 sandbox days,
    or None: PayPal forgets it after that, and the same request then pays again."""
    batch_id = state.by_sender_batch_id.get(sender_batch_id)
    if batch_id is None:
        return None
    if state.now() - state.batches[batch_id]["created"] >= PAYPAL_DEDUPE_SECONDS:
        return None
    return batch_id


def paypal_gate(state: PaymentsState, request: Request) -> Response | None:
    """Injected faults, then the Bearer token, for every non-token PayPal call."""
    if state.take_fault("paypal", ("server_error",)):
        return paypal_server_error()
    if state.take_fault("paypal", ("unauthorized",)):
        return paypal_unauthorized()
    if not state.token_valid("paypal", bearer(request)):
        return paypal_unauthorized()
    return None


# --- token -------------------------------------------------------------------------------------
@router.post("/v1/oauth2/token")
async def paypal_token(request: Request, state: PaymentsDep):
    state.stats["paypal"]["token"] += 1
    client = state.clients["paypal"]
    form = await request.form()
    if basic_credentials(request) != (client["client_id"], client["client_secret"]):
        return JSONResponse(
            {"error": "invalid_client", "error_description": "Client Authentication failed"},
            status_code=401,
        )
    if form.get("grant_type") != "client_credentials":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "Grant Type is NULL or not supported",
            },
            status_code=400,
        )
    return {
        "scope": "https://uri.paypal.com/services/payouts",
        "access_token": state.issue_token("paypal", PAYPAL_TOKEN_SECONDS),
        "token_type": "Bearer",
        "app_id": "APP-SANDBOX",
        "expires_in": PAYPAL_TOKEN_SECONDS,
        "nonce": iso(time.time()) + secrets.token_urlsafe(32),
    }


# --- payouts -----------------------------------------------------------------------------------
@router.post("/v1/payments/payouts")
@router.post("/v1/payments/payouts/")
async def paypal_create(request: Request, state: PaymentsDep):
    state.stats["paypal"]["create"] += 1
    refusal = paypal_gate(state, request)
    if refusal is not None:
        return refusal
    body = await json_body(request)
    if body is MALFORMED:
        return paypal_error(400, "MALFORMED_REQUEST", "The request JSON is not well formed.", [])
    details = validate_payout(body)
    if details:
        return paypal_invalid(details)
    header = dict(body["sender_batch_header"])
    original = remembered_batch(state, header["sender_batch_id"])
    if original is not None:
        return paypal_error(
            400,
            "USER_BUSINESS_ERROR",
            "User business error.",
            [detail("SENDER_BATCH_ID", "Batch with given sender_batch_id already exists")],
            [link(f"{state.base}/v1/payments/payouts/{original}", "self")],
        )
    batch = _new_batch(state, header, body["items"])
    state.index_batch(batch)
    state.save_batch(batch)
    batch_id = batch["payout_batch_id"]
    created = JSONResponse(
        {
            "batch_header": {
                "payout_batch_id": batch_id,
                "batch_status": "PENDING",
                "time_created": iso(batch["created"]),
                "sender_batch_header": header,
            },
            "links": [link(f"{state.base}/v1/payments/payouts/{batch_id}", "self")],
        },
        status_code=201,
    )
    return await after_accept(state, "paypal", created)


def _new_batch(state: PaymentsState, header: dict, raw_items: list[dict]) -> dict:
    """The stored form of an accepted create request (outcomes and timings fixed now)."""
    denied = state.take_fault("paypal", ("insufficient_funds",)) is not None
    now = state.now()
    batch_id = _code(13)
    while batch_id in state.batches:
        batch_id = _code(13)
    default_type = header.get("recipient_type", "EMAIL")
    items, total = [], Decimal(0)
    for raw in raw_items:
        payout_item = dict(raw)
        payout_item.setdefault("recipient_type", default_type)
        outcome = paypal_outcome(payout_item["receiver"])
        total += Decimal(payout_item["amount"]["value"])
        items.append(
            {
                "payout_item_id": _code(13),
                "transaction_id": _code(17) if outcome in ("SUCCESS", "UNCLAIMED") else None,
                "outcome": outcome,
                "returned_at": None,
                "payout_item": payout_item,
            }
        )
    ready = now + state.settings.processing_seconds
    return {
        "payout_batch_id": batch_id,
        "sender_batch_header": header,
        "created": now,
        "ready_at": ready,
        "return_at": ready + state.settings.unclaimed_return_seconds,
        "denied": denied,
        "currency": items[0]["payout_item"]["amount"]["currency"],
        "total": f"{total:.2f}",
        "items": items,
    }


@router.get("/v1/payments/payouts/{payout_batch_id}")
async def paypal_batch(payout_batch_id: str, request: Request, state: PaymentsDep):
    state.stats["paypal"]["get_batch"] += 1
    refusal = paypal_gate(state, request)
    if refusal is not None:
        return refusal
    query = request.query_params
    details = []
    numbers = {}
    for name, default, ceiling in (
        ("page", 1, None),
        ("page_size", PAYPAL_MAX_PAGE_SIZE, PAYPAL_MAX_PAGE_SIZE),
    ):
        raw = query.get(name, str(default))
        if not raw.isdigit() or int(raw) < 1:
            details.append(detail(name, "Value must be a positive integer.", "query"))
        elif ceiling is not None and int(raw) > ceiling:
            details.append(detail(name, f"Value must not exceed {ceiling}.", "query"))
        else:
            numbers[name] = int(raw)
    total_required = query.get("total_required", "false").lower() == "true"
    if details:
        return paypal_invalid(details)
    batch = state.batches.get(payout_batch_id)
    if batch is None:
        return paypal_not_found()
    return _batch_page(state, batch, numbers["page"], numbers["page_size"], total_required)


def _batch_page(state: PaymentsState, batch: dict, page: int, size: int, total_required: bool):
    """One page of a batch's items, with PayPal's paging links."""
    now = state.now()
    items = batch["items"]
    window = items[(page - 1) * size : page * size]
    pages = max(1, math.ceil(len(items) / size))
    url = f"{state.base}/v1/payments/payouts/{batch['payout_batch_id']}"

    def page_link(number: int, rel: str) -> dict:
        flag = "&total_required=true" if total_required else ""
        return link(f"{url}?page_size={size}&page={number}{flag}", rel)

    links = [page_link(page, "self")]
    if total_required:
        links += [page_link(1, "first"), page_link(pages, "last")]
    if page < pages:
        links.append(page_link(page + 1, "next"))
    if 1 < page <= pages + 1:
        links.append(page_link(page - 1, "previous"))
    result: dict[str, Any] = {
        "batch_header": state.batch_header(batch, now),
        "items": [state.item_view(state.base, batch, item, now, "item") for item in window],
        "total_items": len(items),
    }
    if total_required:
        result["total_pages"] = pages
    result["links"] = links
    return result


# --- payouts-item ------------------------------------------------------------------------------
@router.get("/v1/payments/payouts-item/{payout_item_id}")
async def paypal_item(payout_item_id: str, request: Request, state: PaymentsDep):
    state.stats["paypal"]["get_item"] += 1
    refusal = paypal_gate(state, request)
    if refusal is not None:
        return refusal
    found = state.find_item(payout_item_id)
    if found is None:
        return paypal_not_found()
    return state.item_view(state.base, *found, state.now(), "self")


@router.post("/v1/payments/payouts-item/{payout_item_id}/cancel")
async def paypal_cancel(payout_item_id: str, request: Request, state: PaymentsDep):
    state.stats["paypal"]["cancel"] += 1
    refusal = paypal_gate(state, request)
    if refusal is not None:
        return refusal
    found = state.find_item(payout_item_id)
    if found is None:
        return paypal_not_found()
    batch, item = found
    now = state.now()
    status = state.item_status(batch, item, now)
    if status == "RETURNED":
        return paypal_error(
            400, "ITEM_ALREADY_CANCELLED", "The payout item has already been cancelled."
        )
    if status != "UNCLAIMED":
        return paypal_error(
            400,
            "ITEM_INCORRECT_STATUS",
            f"Only UNCLAIMED items can be cancelled; this item is {status}.",
        )
    item["returned_at"] = now
    state.save_batch(batch)
    return state.item_view(state.base, batch, item, now, "self")
