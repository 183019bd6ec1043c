"""``/_sandbox/payments/...`` switches for tests and the demo (no PayPal or Payoneer API).

The client credentials and state folder, processing and unclaimed-return timings (``settings``),
request counters (``stats``, ``reset-stats``), everything stored with its status as the APIs
would answer now (``batches``), ``reset``, and ``paypal/return-unclaimed`` (jump the 30 days
after which unclaimed PayPal items return), ``paypal/items/{id}/status`` (an item claimed,
released from hold, refunded or reversed: :data:`ITEM_MOVES`), ``clock`` and ``clock/advance`` (the sandbox clock
PayPal runs on, moved forward by days; ``reset`` sets it back to real time). Faults are in :mod:`sandbox.payments.faults`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.common import iso
from sandbox.payments.request_parsing import json_body
from sandbox.payments.state import PaymentsDep

router = APIRouter()


@router.get("/_sandbox/payments/clients")
async def get_clients(state: PaymentsDep):
    return state.clients


@router.get("/_sandbox/payments/state-dir")
async def get_state_dir(state: PaymentsDep):
    """Where tokens and batches are kept (tests scan logs for every token issued)."""
    return {"path": str(state.folder)}


@router.get("/_sandbox/payments/settings")
async def get_settings(state: PaymentsDep):
    return asdict(state.settings)


@router.post("/_sandbox/payments/settings")
async def set_settings(request: Request, state: PaymentsDep):
    body = await json_body(request)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "JSON object expected"}, status_code=400)
    for key in ("processing_seconds", "unclaimed_return_seconds"):
        if key in body:
            value = float(body[key])
            if value < 0:
                return JSONResponse({"detail": f"{key} must be ≥ 0"}, status_code=400)
            setattr(state.settings, key, value)
    state.save_settings()
    return asdict(state.settings)


@router.get("/_sandbox/payments/stats")
async def get_stats(state: PaymentsDep):
    return state.stats


@router.post("/_sandbox/payments/reset-stats")
async def reset_stats(state: PaymentsDep):
    for provider, counters in state.zero_stats().items():
        state.stats[provider].update(counters)
    return state.stats


@router.get("/_sandbox/payments/batches")
async def all_batches(state: PaymentsDep):
    """Everything stored, with statuses as the APIs would answer now."""
    now = time.time()
    paypal_now = state.now()  # PayPal runs on the sandbox clock
    return {
        "paypal": [
            {
                "batch_header": state.batch_header(batch, paypal_now),
                "items": [
                    state.item_view(state.base, batch, i, paypal_now, "item")
                    for i in batch["items"]
                ],
            }
            for batch in sorted(state.batches.values(), key=lambda b: b["created"])
        ],
        "payoneer": [
            dict(state.payment_view(p, now), description=p["description"])
            for p in state.payments.values()
        ],
    }


# What can happen to a PayPal item after its batch is done (the switch below); nothing else.
ITEM_MOVES = {
    "UNCLAIMED": ("SUCCESS",),  # the receiver signed up and claimed it
    "ONHOLD": ("SUCCESS", "FAILED", "BLOCKED"),  # PayPal's review released or refused it
    "SUCCESS": ("REFUNDED", "REVERSED"),  # the receiver refunded it; PayPal reversed it
}


@router.post("/_sandbox/payments/paypal/items/{payout_item_id}/status")
async def move_item(payout_item_id: str, request: Request, state: PaymentsDep):
    """Move a done PayPal item on, as PayPal would later: ``{"status": "SUCCESS"}`` claims an
    UNCLAIMED item or releases an ONHOLD one; ``REFUNDED`` / ``REVERSED`` undo a SUCCESS.
    409 for any other move (e.g. from PENDING, RETURNED, BLOCKED)."""
    body = await json_body(request)
    found = state.find_item(payout_item_id)
    if found is None:
        return JSONResponse({"detail": "no such payout_item_id"}, status_code=404)
    batch, item = found
    now = state.now()
    current = state.item_status(batch, item, now)
    wanted = body.get("status") if isinstance(body, dict) else None
    if wanted not in ITEM_MOVES.get(current, ()):
        return JSONResponse(
            {"detail": f"{current} cannot become {wanted!r}; allowed: {ITEM_MOVES}"},
            status_code=409,
        )
    item.setdefault("moves", []).append({"status": wanted, "at": now})
    if item["transaction_id"] is None:
        item["transaction_id"] = secrets.token_hex(9)[:17].upper()
    state.save_batch(batch)
    return state.item_view(state.base, batch, item, now, "self")


@router.get("/_sandbox/payments/clock")
async def get_clock(state: PaymentsDep):
    return _clock(state)


@router.post("/_sandbox/payments/clock/advance")
async def advance_clock(request: Request, state: PaymentsDep):
    """Move the sandbox clock forward ``{"days": N}`` (and/or ``"seconds"``), never back: PayPal
    statuses, unclaimed returns and the 30-day ``sender_batch_id`` window follow it."""
    body = await json_body(request)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "JSON object expected"}, status_code=400)
    try:
        seconds = float(body.get("days", 0)) * 86_400 + float(body.get("seconds", 0))
    except (TypeError, ValueError):
        return JSONResponse({"detail": "days and seconds must be numbers"}, status_code=400)
    if seconds < 0 or seconds != seconds:
        return JSONResponse({"detail": "the sandbox clock only moves forward"}, status_code=400)
    state.settings.clock_offset_seconds += seconds
    state.save_settings()
    return _clock(state)


def _clock(state) -> dict:
    offset = state.settings.clock_offset_seconds
    return {"now": iso(state.now()), "offset_seconds": offset, "offset_days": offset / 86_400}


@router.post("/_sandbox/payments/reset")
async def reset(state: PaymentsDep):
    state.reset()
    return {"paypal": 0, "payoneer": 0}


@router.post("/_sandbox/payments/paypal/return-unclaimed")
async def return_unclaimed(state: PaymentsDep):
    """Jump the 30 days: every item UNCLAIMED now becomes RETURNED."""
    now = state.now()
    returned = 0
    for batch in state.batches.values():
        changed = False
        for item in batch["items"]:
            if state.item_status(batch, item, now) == "UNCLAIMED":
                item["returned_at"] = now
                changed = True
                returned += 1
        if changed:
            state.save_batch(batch)
    return {"returned": returned}
