"""``/_sandbox/payments/...`` switches for tests and the demo (no PayPal or Payoneer API).

The client credentials and state folder, processing and unclaimed-return timings (``settings``),
request counters (``stats``, ``reset-stats``), everything stored with its status as the APIs
would answer now (``batches``), ``reset``, and ``paypal/return-unclaimed`` (jump the 30 days
after which unclaimed PayPal items return). Faults are in :mod:`sandbox.payments.faults`.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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
    return {
        "paypal": [
            {
                "batch_header": state.batch_header(batch, now),
                "items": [
                    state.item_view(state.base, batch, i, now, "item") for i in batch["items"]
                ],
            }
            for batch in sorted(state.batches.values(), key=lambda b: b["created"])
        ],
        "payoneer": [
            dict(state.payment_view(p, now), description=p["description"])
            for p in state.payments.values()
        ],
    }


@router.post("/_sandbox/payments/reset")
async def reset(state: PaymentsDep):
    state.reset()
    return {"paypal": 0, "payoneer": 0}


@router.post("/_sandbox/payments/paypal/return-unclaimed")
async def return_unclaimed(state: PaymentsDep):
    """Jump the 30 days: every item UNCLAIMED now becomes RETURNED."""
    now = time.time()
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
